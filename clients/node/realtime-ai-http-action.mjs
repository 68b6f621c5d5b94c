// realtime-ai 0.2.3 calling action() while NOT connected: the seed's HTTP action
// endpoint (POST baseUrl + endpoints.action with {...requestData, actions: [...]}).
// Usage: node realtime-ai-http-action.mjs <base-url> <report.json> [bearer-key]
import realtimeAi from "realtime-ai";

const { LLMHelper, LogLevel, RTVIClient, Transport } = realtimeAi;
import { makeWeriftTransport } from "./werift-transport.mjs";

import { writeFileSync } from "node:fs";

const [baseUrl, reportPath, key] = process.argv.slice(2);
const WeriftTransport = makeWeriftTransport(Transport);
const seen = {};
const note = (name, value) => {
  (seen[name] ??= []).push(value === undefined ? null : value);
};
const callbacks = {};
for (const name of ["onBotLlmText", "onBotLlmStarted", "onBotLlmStopped", "onMessageError", "onError"]) {
  callbacks[name] = (value) => note(name, value);
}

const client = new RTVIClient({
  transport: new WeriftTransport(),
  params: {
    baseUrl,
    endpoints: { connect: "/connect", action: "/action" },
    headers: key ? new Headers({ Authorization: `Bearer ${key}` }) : undefined,
    requestData: { services: { llm: "together" } },
  },
  callbacks,
  enableMic: false,
  timeout: 30000,
});
client.setLogLevel(LogLevel.ERROR);
client.registerHelper("llm", new LLMHelper({}));
const report = { version: client.version, stateBefore: client.state };
const withTimeout = (promise, what, ms = 60000) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle`)), ms))]);

try {
  // The LLM helper refuses while disconnected; action() itself goes over HTTP.
  report.context = await withTimeout(
    client.action({ service: "llm", action: "get_context", arguments: [] }),
    "get_context",
  );
  report.appended = await withTimeout(
    client.action({
      service: "llm",
      action: "append_to_messages",
      arguments: [
        { name: "messages", value: [{ role: "user", content: "What is the weather like in Paris?" }] },
        { name: "run_immediately", value: true },
      ],
    }),
    "append_to_messages(run_immediately)",
  );
  try {
    await withTimeout(
      client.action({ service: "llm", action: "no_such_action", arguments: [] }),
      "an unknown action",
    );
    report.unknown = "resolved";
  } catch (error) {
    report.unknown = error?.data ?? String(error);
  }
  report.stateAfter = client.state;
} catch (error) {
  report.failure = String(error?.stack ?? error);
}
report.callbacks = seen;
writeFileSync(reportPath, JSON.stringify(report, null, 1));
process.exit(0);

// The seed generation's RTVIClient (realtime-ai 0.2.3) against a running rtvi-server.
// Usage: node realtime-ai-023.mjs <base-url> <report.json>. Writes one JSON report.
import realtimeAi from "realtime-ai";

const { LLMHelper, LogLevel, RTVIClient, Transport } = realtimeAi;
import { makeWeriftTransport } from "./werift-transport.mjs";

import { writeFileSync } from "node:fs";

const [baseUrl, reportPath] = process.argv.slice(2);
const WeriftTransport = makeWeriftTransport(Transport);
const seen = {};
const note = (name, value) => {
  (seen[name] ??= []).push(value === undefined ? null : value);
};
const callbacks = {};
for (const name of [
  "onConnected", "onDisconnected", "onTransportStateChanged", "onBotReady", "onConfig",
  "onConfigDescribe", "onActionsAvailable", "onMessageError", "onError", "onGenericMessage",
  "onServerMessage", "onBotTranscript", "onBotLlmText", "onBotLlmStarted", "onBotLlmStopped",
  "onBotTtsText", "onBotTtsStarted", "onBotTtsStopped", "onBotStartedSpeaking", "onBotStoppedSpeaking",
  "onMetrics",
]) {
  callbacks[name] = (value) => note(name, value);
}

const transport = new WeriftTransport();
const client = new RTVIClient({
  transport,
  params: {
    baseUrl,
    endpoints: { connect: "/connect", action: "/action" },
    config: [{ service: "llm", options: [{ name: "temperature", value: 0.4 }] }],
  },
  callbacks,
  enableMic: false,
  timeout: 30000,
});
client.setLogLevel(LogLevel.ERROR);
const llm = client.registerHelper("llm", new LLMHelper({}));
const report = { version: client.version };
const withTimeout = (promise, what, ms = 10000) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle`)), ms))]);

try {
  report.botReady = await withTimeout(client.connect(), "connect", 60000);
  report.describe = await withTimeout(client.describeConfig(), "describeConfig");
  report.config = await withTimeout(client.getConfig(), "getConfig");
  report.updated = await withTimeout(
    client.updateConfig([{ service: "tts", options: [{ name: "voice", value: "en_US-joe-medium" }] }]),
    "updateConfig",
  );
  report.context = await withTimeout(llm.getContext(), "llm.getContext");
  report.appended = await withTimeout(
    llm.appendToMessages({ role: "user", content: "Remember the number seven." }, false),
    "llm.appendToMessages",
  );
  report.contextAfter = await withTimeout(llm.getContext(), "llm.getContext (after)");
  // A bot turn, run through the LLM helper: the transcript callbacks must fire.
  // The turn is over when the LLM has finished and the TTS has spoken all of it.
  const llmStopped = new Promise((resolve) => client.on("botLlmStopped", () => resolve()));
  const ttsStopped = new Promise((resolve) => client.on("botTtsStopped", () => resolve()));
  report.ran = await withTimeout(llm.run(false), "llm.run");
  await withTimeout(Promise.all([llmStopped, ttsStopped]), "bot-llm-stopped and bot-tts-stopped", 60000);
  try {
    await withTimeout(
      client.updateConfig([{ service: "tts", options: [{ name: "speed", value: "fast" }] }]),
      "invalid updateConfig",
    );
    report.invalidUpdate = "resolved";
  } catch (error) {
    report.invalidUpdate = error;
  }
  report.stateBeforeDisconnect = client.state;
  await withTimeout(client.disconnect(), "disconnect");
  report.stateAfter = client.state;
} catch (error) {
  report.failure = String(error?.stack ?? error);
}
report.callbacks = seen;
writeFileSync(reportPath, JSON.stringify(report, null, 1));
process.exit(0);

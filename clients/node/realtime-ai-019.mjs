// The seed's own VoiceClient (realtime-ai 0.1.9) against a running rtvi-server.
// Usage: node realtime-ai-019.mjs <base-url> <report.json>. Writes one JSON report.
import { writeFileSync } from "node:fs";
import realtimeAi from "realtime-ai-019";
import { makeWeriftTransport } from "./werift-transport.mjs";

const { LogLevel, Transport, VoiceClient } = realtimeAi;
const [baseUrl, reportPath] = process.argv.slice(2);
const seen = {};
const callbacks = {};
for (const name of [
  "onConnected", "onDisconnected", "onTransportStateChanged", "onBotReady", "onConfigUpdated",
  "onConfigDescribe", "onActionsAvailable", "onMessageError", "onError", "onGenericMessage",
  "onBotTranscript", "onBotStartedSpeaking", "onBotStoppedSpeaking", "onMetrics",
]) {
  callbacks[name] = (value) => (seen[name] ??= []).push(value === undefined ? null : value);
}

const client = new VoiceClient({
  baseUrl: `${baseUrl}/start`,
  transport: makeWeriftTransport(Transport),
  services: { llm: "local", tts: "piper" },
  config: [{ service: "llm", options: [{ name: "temperature", value: 0.4 }] }],
  callbacks,
  enableMic: false,
  timeout: 30000,
});
client.setLogLevel?.(LogLevel?.ERROR ?? 1);
const report = {};
const withTimeout = (promise, what, ms = 10000) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle`)), ms))]);

try {
  report.started = await withTimeout(client.start(), "start", 60000);
  report.describe = await withTimeout(client.describeConfig(), "describeConfig");
  report.config = await withTimeout(client.getBotConfig(), "getBotConfig");
  report.updated = await withTimeout(
    client.updateConfig([{ service: "llm", options: [{ name: "max_tokens", value: 30 }] }]),
    "updateConfig",
  );
  report.action = await withTimeout(
    client.action({
      service: "llm",
      action: "append_to_messages",
      arguments: [
        { name: "messages", value: [{ role: "user", content: "Say hello in five words." }] },
        { name: "run_immediately", value: true },
      ],
    }),
    "action",
  );
  const deadline = Date.now() + 60000;
  while (!seen.onBotTranscript && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  try {
    await withTimeout(client.action({ service: "llm", action: "summarise", arguments: [] }), "bad action");
    report.badAction = "resolved";
  } catch (error) {
    report.badAction = error;
  }
  await withTimeout(client.disconnect(), "disconnect");
} catch (error) {
  report.failure = String(error?.stack ?? error);
}
report.callbacks = seen;
writeFileSync(reportPath, JSON.stringify(report, null, 1));
process.exit(0);

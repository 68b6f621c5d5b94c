// One published client version against a running rtvi-server, for the compatibility
// matrix (tests/clients/test_matrix.py). Usage: node matrix.mjs <package> <base-url> <report>.
// <package> is an npm alias (package.json) of realtime-ai or @pipecat-ai/client-js.
// Per generation: connect and bot-ready; a config round trip (seed generation:
// getConfig/updateConfig; modern: get-config over sendClientRequest); a text turn (the
// LLM helper's append_to_messages with run, or sendText/appendToContext); disconnect.
import { writeFileSync } from "node:fs";
import { makeModernWeriftTransport } from "./werift-modern.mjs";
import { makeWeriftTransport } from "./werift-transport.mjs";

// The modern cores read the user agent from `window` at client-ready time.
globalThis.window ??= globalThis;

const [pkg, baseUrl, reportPath] = process.argv.slice(2);
const report = { package: pkg, steps: [], failure: "did not finish" };
const save = () => writeFileSync(reportPath, JSON.stringify(report, null, 1));
save();
setTimeout(() => {
  report.failure = `timed out after ${report.steps.at(-1) ?? "start"}`;
  save();
  process.exit(0);
}, 150000).unref();
const step = (name) => report.steps.push(name);
const withTimeout = (promise, what, ms = 20000) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle`)), ms))]);
const text = "Say hello in five words.";

async function modern(lib) {
  const llmText = [];
  let llmStopped;
  const stopped = new Promise((resolve) => (llmStopped = resolve));
  const Transport = makeModernWeriftTransport(lib, baseUrl);
  const client = new lib.PipecatClient({
    transport: new Transport(),
    enableMic: false,
    enableCam: false,
    callbacks: {
      onBotLlmText: (data) => llmText.push(data.text),
      onBotLlmStopped: () => llmStopped(),
      // 1.0.0 never calls onBotLlmStopped: the bot's speech ending closes the turn too.
      onBotStoppedSpeaking: () => llmText.length && llmStopped(),
      onBotTranscript: (data) => (report.botTranscript ??= data?.text),
      onBotOutput: (data) => (report.botOutput ??= data),
      onGenericMessage: (data) => (report.generic ??= []).push(data?.type ?? data),
    },
  });
  const endpoint = `${baseUrl}/start`;
  const ready = client.startBotAndConnect
    ? client.startBotAndConnect({ endpoint, requestData: {} })
    : client.connect({ endpoint, requestData: {} });
  report.botReady = await withTimeout(ready, "connect", 60000);
  step("bot-ready");
  const config = await withTimeout(client.sendClientRequest("get-config", {}), "get-config");
  report.configServices = (config?.config ?? []).map((e) => e.service);
  step("config");
  if (client.sendText) await client.sendText(text);
  else {
    // Before sendText (1.x < 1.4?), appendToContext waits for a reply that no bot sends
    // (pipecat's RTVI answers append-to-context with nothing); the turn runs regardless.
    report.appendToContext = "not awaited";
    client.appendToContext({ role: "user", content: text, run_immediately: true }).catch(() => {});
  }
  await withTimeout(stopped, "bot-llm-stopped", 60000);
  report.llmText = llmText.join("");
  step("text-turn");
  await withTimeout(client.disconnect(), "disconnect");
  step("disconnected");
}

async function seed(lib) {
  const ClientClass = lib.RTVIClient ?? lib.VoiceClient;
  // realtime-ai 0.0.9 does not export its Transport base: any class with its shape works.
  const WeriftTransport = makeWeriftTransport(lib.Transport ?? BareTransport);
  const llmText = [];
  let llmStopped;
  const stopped = new Promise((resolve) => (llmStopped = resolve));
  const callbacks = {
    onBotLlmText: (data) => llmText.push(data?.text ?? ""),
    onBotLlmStopped: () => llmStopped(),
    onBotTranscript: (data) => llmText.push(typeof data === "string" ? data : data?.text ?? ""),
  };
  const legacy = !lib.RTVIClient; // realtime-ai 0.1.x: VoiceClient, start(), transport class
  const client = legacy
    ? new ClientClass({
        baseUrl: `${baseUrl}/start`,
        transport: WeriftTransport,
        services: { llm: "local", tts: "piper" },
        callbacks,
        enableMic: false,
        timeout: 30000,
      })
    : new ClientClass({
        transport: new WeriftTransport(),
        params: { baseUrl, endpoints: { connect: "/connect", action: "/action" } },
        callbacks,
        enableMic: false,
        timeout: 30000,
      });
  client.setLogLevel?.(lib.LogLevel?.ERROR ?? 1);
  report.botReady = await withTimeout(legacy ? client.start() : client.connect(), "connect", 60000);
  step("bot-ready");
  const config = await withTimeout(legacy ? client.getBotConfig() : client.getConfig(), "getConfig");
  // 0.2+ resolve with the config list; 0.1.x with the whole `config` message.
  const list = Array.isArray(config) ? config : config?.config ?? config?.data?.config ?? [];
  report.configServices = list.map((e) => e.service);
  await withTimeout(
    client.updateConfig([{ service: "llm", options: [{ name: "max_tokens", value: 30 }] }]),
    "updateConfig",
  );
  step("config");
  await withTimeout(
    client.action({
      service: "llm",
      action: "append_to_messages",
      arguments: [
        { name: "messages", value: [{ role: "user", content: text }] },
        { name: "run_immediately", value: true },
      ],
    }),
    "action",
  );
  await withTimeout(legacy ? waitFor(() => llmText.length > 0) : stopped, "the bot's text", 60000);
  report.llmText = llmText.join("");
  step("text-turn");
  await withTimeout(client.disconnect(), "disconnect");
  step("disconnected");
}

class BareTransport {
  constructor(options, onMessage) {
    this._options = options;
    this._onMessage = onMessage;
    this._callbacks = options?.callbacks ?? {};
  }
  get expiry() {
    return undefined;
  }
}

async function waitFor(check) {
  while (!check()) await new Promise((r) => setTimeout(r, 100));
}

try {
  delete report.failure;
  const mod = await import(pkg);
  const lib = { ...(mod.default ?? {}), ...mod };
  report.generation = lib.PipecatClient ? "modern" : "seed";
  await (lib.PipecatClient ? modern(lib) : seed(lib));
} catch (error) {
  report.failure = String(error?.message ?? error).split("\n")[0].slice(0, 300);
  if (process.env.MATRIX_DEBUG) console.error(error?.stack);
}
save();
process.exit(0);

// rtvi-server's browser page: talk to a bot, watch what happens, tune its config.
// Uses the official modern client (@pipecat-ai/client-js) with the SmallWebRTC transport
// (default) or, with ?transport=websocket, the WebSocket transport; both with their WAV
// media managers, so nothing is fetched from outside the server.
import { PipecatClient } from "@pipecat-ai/client-js";
import { SmallWebRTCTransport, WavMediaManager } from "@pipecat-ai/small-webrtc-transport";
import {
  WavMediaManager as SocketWavMediaManager,
  WebSocketTransport,
} from "@pipecat-ai/websocket-transport";

const $ = (id) => document.getElementById(id);
const page = {
  status: "idle",
  events: [],
  transport: new URLSearchParams(location.search).get("transport") === "websocket" ? "websocket" : "webrtc",
  userTranscripts: [],
  botTranscripts: [], // what the bot said: bot-output (legacy bot-transcription as fallback)
  botOutputs: 0,
  latencies: [], // per turn: user stopped speaking -> the bot's audio, as this page saw it
  errors: [],
  botAudioPeak: 0,
  description: null,
  config: null,
  lastUpdate: null,
};
window.rtviPage = page;
let client = null;

function log(kind, detail) {
  page.events.push({ kind, detail, at: Date.now() });
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()}  ${kind}${detail ? "  " + JSON.stringify(detail).slice(0, 160) : ""}`;
  $("log").prepend(li);
}

function plainError(text) {
  page.errors.push(text);
  const p = document.createElement("p");
  p.textContent = text;
  $("errors").append(p);
  $("errors").hidden = false;
}

function setStatus(status) {
  page.status = status;
  $("status").textContent = status;
  $("connect").disabled = !["idle", "disconnected", "error", "initialized"].includes(status);
  $("disconnect").disabled = ["idle", "disconnected", "initialized"].includes(status);
}

function addTranscript(list, who, text, final) {
  const box = $("transcript");
  if (!final && box.lastElementChild?.dataset.interim === who) {
    box.lastElementChild.lastChild.textContent = text;
    return;
  }
  if (box.lastElementChild?.dataset.interim === who) box.lastElementChild.remove();
  const line = document.createElement("p");
  line.className = who;
  if (!final) line.dataset.interim = who;
  const tag = document.createElement("b");
  tag.textContent = who === "user" ? "You: " : "Bot: ";
  line.append(tag, document.createTextNode(text));
  box.append(line);
  if (final) list.push(text);
}

// The bot's words: one line per bot turn, from bot-output (spoken text as the bot speaks
// it); the legacy bot-transcription only for bots that send no bot-output.
let botLine = null;
function botSaid(text, fromOutput) {
  if (fromOutput) page.botOutputs += 1;
  else if (page.botOutputs > 0) return;
  if (!botLine) {
    botLine = document.createElement("p");
    botLine.className = "bot";
    const tag = document.createElement("b");
    tag.textContent = "Bot: ";
    botLine.append(tag, document.createTextNode(""));
    $("transcript").append(botLine);
    page.botTranscripts.push("");
  }
  const words = (botLine.lastChild.textContent + " " + text).trim();
  botLine.lastChild.textContent = words;
  page.botTranscripts[page.botTranscripts.length - 1] = words;
}

let userStoppedAt = null;
function botAudioHeard() {
  if (userStoppedAt === null) return;
  const ms = Math.round(performance.now() - userStoppedAt);
  userStoppedAt = null;
  page.latencies.push(ms);
  $("latency").textContent = `last turn: ${ms} ms from your stop to the bot's voice`;
}

function watchBotAudio(track) {
  const audio = new Audio();
  audio.srcObject = new MediaStream([track]);
  audio.play().catch(() => {});
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s));
    page.botAudioPeak = Math.max(page.botAudioPeak, peak);
    if (peak > 0.02) botAudioHeard();
    $("level").value = peak;
  }, 50);
}

function describeError(message) {
  const data = message?.data ?? {};
  return data.error ?? data.message ?? JSON.stringify(data);
}

async function connect() {
  $("errors").replaceChildren();
  $("errors").hidden = true;
  const token = new URLSearchParams(location.search).get("token");
  const transport =
    page.transport === "websocket"
      ? new WebSocketTransport({ mediaManager: new SocketWavMediaManager(undefined, 16000) })
      : new SmallWebRTCTransport({ mediaManager: new WavMediaManager(), iceServers: [] });
  client = new PipecatClient({
    transport,
    enableMic: true,
    enableCam: false,
    callbacks: {
      onTransportStateChanged: (state) => setStatus(state),
      onBotReady: (data) => log("bot-ready", data),
      onUserStartedSpeaking: () => log("user-started-speaking"),
      onUserStoppedSpeaking: () => {
        log("user-stopped-speaking");
        userStoppedAt = performance.now();
      },
      onBotStartedSpeaking: () => {
        log("bot-started-speaking");
        botLine = null;
        // The WebSocket transport plays audio itself, with no track to listen to.
        if (page.transport === "websocket") botAudioHeard();
      },
      onBotStoppedSpeaking: () => log("bot-stopped-speaking"),
      onUserTranscript: (data) => addTranscript(page.userTranscripts, "user", data.text, data.final),
      onBotOutput: (data) => {
        log("bot-output", data);
        // RTVI 2.x: one "new" message per segment (then progress of the same segment);
        // 1.x: the segment again with spoken: true once the TTS has said it.
        const said = data?.spoken_status !== undefined ? data.spoken_status === "new" : data?.spoken === true;
        if (said && data?.text) botSaid(data.text, true);
      },
      onBotTranscript: (data) => botSaid(data.text, false),
      onBotLlmText: (data) => log("bot-llm-text", data.text),
      onMetrics: (data) => log("metrics", data),
      onServerMessage: (data) => {
        log("server-message", data);
        if (data?.type === "session-ended") plainError(`Session ended: ${data.message}`);
      },
      onError: (message) => {
        log("error", message?.data);
        plainError(`The bot reported an error: ${describeError(message)}`);
      },
      // Refused requests are explained where they were made (see applyConfig).
      onMessageError: (message) => log("error-response", message?.data),
      onTrackStarted: (track, participant) => {
        log("track-started", { kind: track.kind, local: participant?.local ?? null });
        if (track.kind === "audio" && participant?.local !== true) watchBotAudio(track);
      },
    },
  });
  try {
    await client.startBotAndConnect({
      endpoint: "/start",
      requestData: page.transport === "websocket" ? { transport: "websocket" } : {},
      headers: token ? new Headers({ Authorization: `Bearer ${token}` }) : undefined,
    });
    await loadConfig();
  } catch (error) {
    plainError(`Could not connect: ${error?.message ?? error}`);
    setStatus("error");
  }
}

async function loadConfig() {
  page.description = await client.sendClientRequest("describe-config", {});
  const current = await client.sendClientRequest("get-config", {});
  page.config = current.config;
  renderConfig();
}

function currentValue(service, option) {
  const entry = page.config?.find((e) => e.service === service);
  return entry?.options.find((o) => o.name === option)?.value;
}

function renderConfig() {
  const form = $("config");
  form.replaceChildren();
  for (const service of page.description.config) {
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = service.name;
    fieldset.append(legend);
    for (const option of service.options) {
      const label = document.createElement("label");
      label.textContent = option.name;
      const value = currentValue(service.name, option.name);
      let input;
      if (option.type === "bool") {
        input = document.createElement("input");
        input.type = "checkbox";
        input.checked = value === true;
      } else if (option.type === "array" || option.type === "object") {
        input = document.createElement("textarea");
        input.value = value === undefined ? "" : JSON.stringify(value);
      } else {
        input = document.createElement("input");
        input.type = option.type === "number" ? "number" : "text";
        input.step = "any";
        input.value = value ?? "";
      }
      input.name = `${service.name}.${option.name}`;
      input.dataset.service = service.name;
      input.dataset.option = option.name;
      input.dataset.type = option.type;
      input.dataset.initial = input.type === "checkbox" ? String(input.checked) : input.value;
      input.disabled = option.writable === false;
      label.append(input);
      fieldset.append(label);
    }
    form.append(fieldset);
  }
  const apply = document.createElement("button");
  apply.type = "submit";
  apply.id = "apply";
  apply.textContent = "Apply changes";
  form.append(apply);
}

function readInput(input) {
  const type = input.dataset.type;
  if (type === "bool") return input.checked;
  if (type === "number") {
    const n = Number(input.value);
    if (input.value.trim() === "" || Number.isNaN(n)) throw new Error(`${input.name} needs a number`);
    return n;
  }
  if (type === "array" || type === "object") return JSON.parse(input.value);
  return input.value;
}

async function applyConfig(event) {
  event.preventDefault();
  const byService = new Map();
  try {
    for (const input of $("config").querySelectorAll("[data-option]")) {
      const now = input.type === "checkbox" ? String(input.checked) : input.value;
      if (input.disabled || now === input.dataset.initial) continue;
      const options = byService.get(input.dataset.service) ?? [];
      options.push({ name: input.dataset.option, value: readInput(input) });
      byService.set(input.dataset.service, options);
    }
  } catch (error) {
    plainError(`Not applied: ${error.message}`);
    return;
  }
  if (!byService.size) return;
  const config = [...byService].map(([service, options]) => ({ service, options }));
  try {
    const result = await client.sendClientRequest("update-config", { config, interrupt: false });
    page.config = result.config;
    page.lastUpdate = config;
    log("config-updated", config);
    renderConfig();
  } catch (error) {
    plainError(`The bot refused the change: ${describeError(error)}`);
  }
}

async function sendText(event) {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text || !client) return;
  await client.sendText(text);
  addTranscript(page.userTranscripts, "user", text, true);
  $("text").value = "";
}

$("connect").addEventListener("click", connect);
$("disconnect").addEventListener("click", async () => {
  await client?.disconnect();
  setStatus("disconnected");
});
$("config").addEventListener("submit", applyConfig);
$("send").addEventListener("submit", sendText);
setStatus("idle");

// A minimal RTVI transport over the SmallWebRTC contract, on werift (WebRTC in
// pure TypeScript), for the config-generation client cores in Node.
//
// It POSTs an offer to the offer URL the start endpoint returned, opens the
// "chat" data channel, pings every second, and hands RTVI JSON to the client.
// ICE stays on 127.0.0.1: only loopback host candidates are offered or checked.
import { RTCPeerConnection } from "werift";

const LOOPBACK = "127.0.0.1";

function loopbackOnly(sdp) {
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || line.split(" ")[4] === LOOPBACK)
    .join("\r\n");
}

export function makeWeriftTransport(BaseTransport) {
  return class WeriftTransport extends BaseTransport {
    // realtime-ai 0.2.x: constructed by the app, then initialize(options, handler).
    // realtime-ai 0.1.x: constructed by the client as new T(options, handler).
    constructor(options, onMessage) {
      super(options, onMessage);
      if (options) this._setup(options, onMessage);
      this._state = "idle";
      this.pc = null;
      this.channel = null;
      this.signals = [];
    }

    initialize(options, messageHandler) {
      this._setup(options, messageHandler);
      this.state = "initialized";
    }

    _setup(options, onMessage) {
      this._options = options;
      this._callbacks = options.callbacks ?? {};
      this._onMessage = onMessage;
    }

    async initDevices() {
      this.state = "initialized";
    }

    _baseUrl() {
      return this._options.params?.baseUrl ?? this._options.baseUrl;
    }

    async connect(authBundle, _abortController) {
      this.state = "connecting";
      const offerUrl = new URL(authBundle.offer_url, this._baseUrl()).toString();
      const pc = new RTCPeerConnection({
        iceServers: [],
        iceUseIpv6: false,
        iceAdditionalHostAddresses: [LOOPBACK],
        iceFilterCandidatePair: (pair) =>
          pair.localCandidate.host === LOOPBACK && pair.remoteCandidate.host === LOOPBACK,
      });
      this.pc = pc;
      pc.addTransceiver("audio", { direction: "recvonly" });
      const channel = pc.createDataChannel("chat", { ordered: true });
      this.channel = channel;
      channel.onMessage.subscribe((data) => {
        const text = typeof data === "string" ? data : data.toString();
        let message;
        try {
          message = JSON.parse(text);
        } catch {
          return;
        }
        if (message?.type === "signalling") {
          this.signals.push(message.message?.type);
          if (message.message?.type === "peerLeft") this._left();
          return;
        }
        this._onMessage(message);
      });
      const opened = new Promise((resolve) =>
        channel.stateChanged.subscribe((state) => state === "open" && resolve()),
      );
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === "complete") return resolve();
        pc.iceGatheringStateChange.subscribe((s) => s === "complete" && resolve());
      });
      const response = await fetch(offerUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          sdp: loopbackOnly(pc.localDescription.sdp),
          type: "offer",
          pc_id: null,
          restart_pc: false,
        }),
      });
      if (!response.ok) throw new Error(`offer refused: ${response.status}`);
      const answer = await response.json();
      await pc.setRemoteDescription({ sdp: answer.sdp, type: "answer" });
      await opened;
      this._ping = setInterval(() => channel.send(`ping: ${Date.now()}`), 1000);
      this.state = "connected";
      this._callbacks.onConnected?.();
      this.sendReadyMessage();
    }

    sendReadyMessage() {
      if (this._readySent) return;
      this._readySent = true;
      this.state = "ready";
      this.sendMessage({ label: "rtvi-ai", type: "client-ready", id: "ready-" + Date.now(), data: {} });
    }

    sendMessage(message) {
      this.channel.send(JSON.stringify(message));
    }

    sendRaw(text) {
      this.channel.send(text);
    }

    _left() {
      clearInterval(this._ping);
      this.state = "disconnected";
      this._callbacks.onDisconnected?.();
    }

    async disconnect() {
      clearInterval(this._ping);
      if (this.pc) await this.pc.close();
      this.pc = null;
      this.state = "disconnected";
    }

    get state() {
      return this._state;
    }
    set state(state) {
      if (this._state === state) return;
      this._state = state;
      this._callbacks.onTransportStateChanged?.(state);
    }

    async getAllMics() { return []; }
    async getAllCams() { return []; }
    async getAllSpeakers() { return []; }
    updateMic() {}
    updateCam() {}
    updateSpeaker() {}
    get selectedMic() { return {}; }
    get selectedCam() { return {}; }
    get selectedSpeaker() { return {}; }
    enableMic() {}
    enableCam() {}
    get isCamEnabled() { return false; }
    get isMicEnabled() { return false; }
    tracks() { return { local: { audio: undefined, video: undefined }, bot: { audio: undefined, video: undefined } }; }
  };
}

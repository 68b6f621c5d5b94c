// The SmallWebRTC contract on werift for the modern client cores (@pipecat-ai/client-js
// 1.x) in Node: the same peer as werift-transport.mjs, behind client-js 1.x's Transport
// API (_validateConnectionParams, _connect, _disconnect, sendReadyMessage).
import { RTCPeerConnection } from "werift";

const LOOPBACK = "127.0.0.1";

function loopbackOnly(sdp) {
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || line.split(" ")[4] === LOOPBACK)
    .join("\r\n");
}

export function makeModernWeriftTransport({ Transport, RTVIMessage }, baseUrl) {
  return class ModernWeriftTransport extends Transport {
    constructor() {
      super();
      this._state = "disconnected";
      this.pc = null;
      this.channel = null;
    }

    initialize(options, messageHandler) {
      this._options = options;
      this._callbacks = options.callbacks ?? {};
      this._onMessage = messageHandler;
      this.state = "disconnected";
    }

    async initDevices() {
      this.state = "initialized";
    }

    _validateConnectionParams(params) {
      return params;
    }

    async _connect(params) {
      this.state = "connecting";
      const sessionId = params?.sessionId ?? params?.session_id;
      const path = params?.offer_url ?? (sessionId ? `/sessions/${sessionId}/api/offer` : "/api/offer");
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
        let message;
        try {
          message = JSON.parse(typeof data === "string" ? data : data.toString());
        } catch {
          return;
        }
        if (message?.type === "signalling") {
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
      const response = await fetch(new URL(path, baseUrl), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sdp: loopbackOnly(pc.localDescription.sdp), type: "offer" }),
      });
      if (!response.ok) throw new Error(`offer refused: ${response.status}`);
      const answer = await response.json();
      await pc.setRemoteDescription({ sdp: answer.sdp, type: "answer" });
      await opened;
      this._ping = setInterval(() => channel.send(`ping: ${Date.now()}`), 1000);
      this.state = "connected";
      this._callbacks.onConnected?.();
    }

    sendReadyMessage() {
      this.state = "ready";
      this.sendMessage(RTVIMessage.clientReady());
    }

    sendMessage(message) {
      this.channel?.send(JSON.stringify(message));
    }

    _left() {
      clearInterval(this._ping);
      this.state = "disconnected";
      this._callbacks.onDisconnected?.();
    }

    async _disconnect() {
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
      this._callbacks?.onTransportStateChanged?.(state);
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
    enableScreenShare() {}
    get isSharingScreen() { return false; }
    get isCamEnabled() { return false; }
    get isMicEnabled() { return false; }
    tracks() { return { local: { audio: undefined, video: undefined }, bot: { audio: undefined, video: undefined } }; }
  };
}

// The SmallWebRTC contract on werift for the modern client cores (@pipecat-ai/client-js
// 1.x) in Node: werift-peer.mjs's peer behind client-js 1.x's Transport API
// (_validateConnectionParams, _connect, _disconnect, sendReadyMessage).
import { openChatPeer, withTransportBasics } from "./werift-peer.mjs";

export function makeModernWeriftTransport({ Transport, RTVIMessage }, baseUrl) {
  return class ModernWeriftTransport extends withTransportBasics(Transport) {
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
      const { pc, channel, ping } = await openChatPeer(new URL(path, baseUrl), {
        onMessage: (message) => this._onMessage(message),
        onSignal: (type) => type === "peerLeft" && this._left(),
      });
      this.pc = pc;
      this.channel = channel;
      this._ping = ping;
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
  };
}

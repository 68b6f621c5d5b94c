// A minimal RTVI transport over the SmallWebRTC contract, on werift (WebRTC in
// pure TypeScript), for the config-generation client cores in Node.
//
// It POSTs an offer to the offer URL the start endpoint returned, opens the
// "chat" data channel, pings every second, and hands RTVI JSON to the client
// (the peer is werift-peer.mjs's, shared with the modern transport).
import { openChatPeer, withTransportBasics } from "./werift-peer.mjs";

export function makeWeriftTransport(BaseTransport) {
  return class WeriftTransport extends withTransportBasics(BaseTransport) {
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
      const { pc, channel, ping } = await openChatPeer(offerUrl, {
        onMessage: (message) => this._onMessage(message),
        onSignal: (type) => {
          this.signals.push(type);
          if (type === "peerLeft") this._left();
        },
      });
      this.pc = pc;
      this.channel = channel;
      this._ping = ping;
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
  };
}

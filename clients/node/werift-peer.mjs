// What both werift test transports share: the SmallWebRTC peer (POST an offer, the "chat"
// data channel, pings every second; ICE kept on 127.0.0.1) and the parts of a client
// Transport that are the same in every generation (state with its callback, no devices).
import { RTCPeerConnection } from "werift";

const LOOPBACK = "127.0.0.1";

function loopbackOnly(sdp) {
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || line.split(" ")[4] === LOOPBACK)
    .join("\r\n");
}

/** Connect to `offerUrl`; RTVI messages go to `onMessage`, signalling types to `onSignal`. */
export async function openChatPeer(offerUrl, { onMessage, onSignal }) {
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [LOOPBACK],
    iceFilterCandidatePair: (pair) =>
      pair.localCandidate.host === LOOPBACK && pair.remoteCandidate.host === LOOPBACK,
  });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const channel = pc.createDataChannel("chat", { ordered: true });
  channel.onMessage.subscribe((data) => {
    let message;
    try {
      message = JSON.parse(typeof data === "string" ? data : data.toString());
    } catch {
      return;
    }
    if (message?.type === "signalling") onSignal(message.message?.type);
    else onMessage(message);
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
  const ping = setInterval(() => channel.send(`ping: ${Date.now()}`), 1000);
  return { pc, channel, ping };
}

/** `Base` with state (reported to onTransportStateChanged) and no media devices. */
export function withTransportBasics(Base) {
  return class extends Base {
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

// The page in headless Chromium with every peer connection forced to relay-only
// (iceTransportPolicy "relay"): media can only flow through the TURN server that the
// /start answer's iceConfig names. Usage: node relay-only.mjs <base-url> <out-dir>.
// Writes report.json: the candidate types of the selected pair, and the page's events.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchChromium } from "./chromium.mjs";

const [baseUrl, outDir] = process.argv.slice(2);
const report = { console: [] };
const context = await launchChromium();
try {
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.rtviPeers = [];
    window.RTCPeerConnection = function (config, ...rest) {
      const pc = new Native({ ...(config ?? {}), iceTransportPolicy: "relay" }, ...rest);
      window.rtviPeers.push(pc);
      return pc;
    };
    window.RTCPeerConnection.prototype = Native.prototype;
    window.RTCPeerConnection.generateCertificate = Native.generateCertificate;
  });
  const page = await context.newPage();
  page.on("console", (m) => report.console.push(`${m.type()}: ${m.text()}`.slice(0, 300)));
  await page.goto(baseUrl + "/");
  await page.click("#connect");
  await page.waitForFunction(() => window.rtviPage.events.some((e) => e.kind === "bot-ready"), null, { timeout: 60000 });
  report.pair = await page.evaluate(async () => {
    const pc = window.rtviPeers[window.rtviPeers.length - 1];
    const stats = [...(await pc.getStats()).values()];
    const transport = stats.find((s) => s.type === "transport" && s.selectedCandidatePairId);
    const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId)
      ?? stats.find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded");
    const byId = (id) => stats.find((s) => s.id === id);
    return {
      config: pc.getConfiguration(),
      local: byId(pair?.localCandidateId)?.candidateType,
      localAddress: byId(pair?.localCandidateId)?.address,
      remote: byId(pair?.remoteCandidateId)?.candidateType,
      bytesSent: pair?.bytesSent ?? 0,
      bytesReceived: pair?.bytesReceived ?? 0,
    };
  });
  report.events = await page.evaluate(() => window.rtviPage.events.map((e) => e.kind));
  await page.click("#disconnect");
} catch (error) {
  report.failure = String(error?.stack ?? error);
} finally {
  await context.close();
}
writeFileSync(join(outDir, "report.json"), JSON.stringify(report, null, 1));

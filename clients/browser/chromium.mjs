// Headless Debian Chromium for the browser drivers: a fresh profile each run, nothing
// reached beyond loopback, fake media devices (a WAV file as the microphone if given).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export function launchChromium({ micWav } = {}) {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "rtvi-chromium-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--no-pings", "--disable-quic",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
      ...(micWav ? [`--use-file-for-fake-audio-capture=${micWav}`] : []),
      "--autoplay-policy=no-user-gesture-required",
      "--allow-loopback-in-peer-connection",
      "--disable-features=WebRtcHideLocalIpsWithMdns",
    ],
  });
}

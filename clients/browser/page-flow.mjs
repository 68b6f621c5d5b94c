// Drives rtvi-server's web page in headless Chromium: the official modern client
// (client-js 1.13 + small-webrtc 1.10) with a WAV file as the microphone.
// Usage: node page-flow.mjs <base-url> <mic.wav> <out-dir> "<first words>" [webrtc|websocket].
// Writes report.json and page.png. Chromium loops the WAV from when capture starts, so
// the first turn may be cut; the flow waits for a turn that begins with <first words>.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchChromium } from "./chromium.mjs";

const [baseUrl, micWav, outDir, firstWords, transport = "webrtc"] = process.argv.slice(2);
const report = { outside: [], requests: [], console: [] };
const isLoopback = (url) => {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "blob:") return true;
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
};

const context = await launchChromium({ micWav });
let page;
try {
  await context.route("**/*", (route) => {
    const url = route.request().url();
    report.requests.push(url);
    if (!isLoopback(url)) {
      report.outside.push(url);
      return route.abort();
    }
    return route.continue();
  });
  page = await context.newPage();
  page.on("console", (m) => report.console.push(`${m.type()}: ${m.text()}`.slice(0, 300)));
  await page.goto(baseUrl + (transport === "websocket" ? "/?transport=websocket" : "/"));
  await page.click("#connect");
  await page.waitForFunction(() => window.rtviPage.events.some((e) => e.kind === "bot-ready"), null, { timeout: 60000 });
  await page.waitForSelector("#config [data-option]", { timeout: 20000 });
  // A spoken turn: the fake microphone speaks the fixture.
  await page.waitForFunction(
    (words) => {
      const norm = (t) => t.toLowerCase().replace(/[^a-z ]/g, " ").split(/\s+/).filter(Boolean).join(" ");
      return window.rtviPage.userTranscripts.some((t) => norm(t).startsWith(norm(words)));
    },
    firstWords,
    { timeout: 90000 },
  );
  await page.waitForFunction(() => window.rtviPage.botTranscripts.length > 0, null, { timeout: 60000 });
  if (transport === "webrtc") {
    await page.waitForFunction(() => window.rtviPage.botAudioPeak > 0.02, null, { timeout: 60000 });
  }
  await page.waitForFunction(() => window.rtviPage.latencies.length > 0, null, { timeout: 60000 });
  // Change an option through the form.
  await page.fill('[name="llm.temperature"]', "0.15");
  await page.click("#apply");
  await page.waitForFunction(() => window.rtviPage.lastUpdate !== null, null, { timeout: 10000 });
  // A refused change is explained in plain words.
  await page.fill('[name="llm.max_tokens"]', "-3");
  await page.click("#apply");
  await page.waitForFunction(() => window.rtviPage.errors.length > 0, null, { timeout: 10000 });
  // Typed text reaches the bot (send-text).
  const before = await page.evaluate(() => window.rtviPage.events.filter((e) => e.kind === "bot-llm-text").length);
  await page.fill("#text", "Please say one short sentence about the sea.");
  await page.press("#text", "Enter");
  await page.waitForFunction(
    (n) => window.rtviPage.events.filter((e) => e.kind === "bot-llm-text").length > n, before, { timeout: 60000 },
  );
  await page.screenshot({ path: join(outDir, "page.png"), fullPage: true });
  report.page = await page.evaluate(() => window.rtviPage);
  await page.click("#disconnect");
  await page.waitForFunction(() => window.rtviPage.status === "disconnected", null, { timeout: 10000 });
  report.finalStatus = await page.evaluate(() => window.rtviPage.status);
} catch (error) {
  report.failure = String(error?.stack ?? error);
  report.page ??= await page.evaluate(() => window.rtviPage).catch(() => null);
} finally {
  await context.close();
}
writeFileSync(join(outDir, "report.json"), JSON.stringify(report, null, 1));

import { defineConfig } from "@playwright/test";

// The Makefile chooses a free port and a fresh data folder and passes them in,
// so every run starts from an empty database. Playwright loads this file in
// each worker too, which is why nothing here is chosen at random.
const port = process.env.E2E_PORT ?? "3900";
const dataDir = process.env.E2E_DATA_DIR ?? "target/e2e-data";
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      // Debian's chromium: Playwright's own browser downloads are not used.
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    // Creates the first administrator through the UI and saves its session for the other tests.
    { name: "setup", testMatch: /first-run\.setup\.ts/ },
    {
      name: "chromium",
      use: { browserName: "chromium", storageState: "test-results/.auth/admin.json" },
      dependencies: ["setup"],
    },
  ],
  webServer: {
    // The log (at debug level, requests and outbound calls included) goes to a file the secret
    // canary test searches; loopback is opened for the mock
    // upstream the connector tests run.
    command: `mkdir -p ${dataDir} && RUST_LOG=debug exec ../target/release/switchboard serve --addr 127.0.0.1:${port} --data-dir ${dataDir} --site-root ../target/site --log-format json --allow-networks 127.0.0.1 > ${dataDir}/server.log 2>&1`,
    url: `${baseURL}/readyz`,
    timeout: 30_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
  },
});

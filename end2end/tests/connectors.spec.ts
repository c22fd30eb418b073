import { expect, test, type Page } from "@playwright/test";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { hydrated, signIn } from "./helpers";

/** A mock upstream on loopback that records what it receives. */
async function startUpstream(): Promise<{ server: Server; base: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}/api`, seen };
}

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const canary = (what: string) => `CANARY${what}${run}`;

async function openAdd(page: Page) {
  await page.getByRole("button", { name: "+ Add connector" }).click();
  await expect(page.getByRole("heading", { name: "Add connector" })).toBeVisible();
  // The form takes the focus as it opens.
  await expect(page.getByRole("heading", { name: "Add connector" })).toBeFocused();
}

async function save(page: Page, name: string) {
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("button", { name: `Edit ${name}`, exact: true })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Add connector" })).toHaveCount(0);
  // Said where screen readers announce it, and the focus is back on + Add connector.
  await expect(page.getByRole("status").filter({ hasText: "Connector saved." })).toBeVisible();
  await expect(page.getByRole("button", { name: "+ Add connector" })).toBeFocused();
}

test("an Administrator adds, edits, toggles, tests and deletes connectors; no secret leaks", async ({ page }) => {
  const upstream = await startUpstream();
  const names = {
    none: `E2E None ${run}`,
    basic: `E2E Basic ${run}`,
    bearer: `E2E Bearer ${run}`,
    header: `E2E Header ${run}`,
    query: `E2E Query ${run}`,
  };
  const secrets = {
    basic: canary("basic"),
    bearer: canary("bearer"),
    header: canary("header"),
    query: canary("query"),
    secretHeader: canary("secrethdr"),
  };
  await page.goto("/settings/connectors");
  await hydrated(page);

  // None, with a global header and the plain-http warning.
  await openAdd(page);
  await expect(page.getByRole("radio", { name: "Enabled" })).toBeChecked();
  await expect(page.getByRole("radio", { name: "None" })).toBeChecked();
  await page.getByLabel("Name", { exact: true }).fill(names.none);
  await page.getByLabel("Base URL").fill(`${upstream.base}/`);
  await expect(page.getByRole("note")).toContainText("Plain http");
  await page.getByRole("button", { name: "Add Header" }).click();
  await page.getByLabel("Header 1 name").fill("X-Organization-ID");
  await page.getByLabel("Header 1 value").fill("42");
  await page.getByRole("button", { name: "Add Header" }).click();
  await page.getByLabel("Header 2 name").fill("X-Extra");
  await page.getByRole("button", { name: "Remove header 2" }).click();
  await expect(page.getByLabel("Header 2 name")).toHaveCount(0);
  await save(page, names.none);
  await expect(page.getByRole("row", { name: new RegExp(names.none) })).toContainText(`${upstream.base}`);

  // Basic, Bearer, Header, Query.
  await openAdd(page);
  await page.getByLabel("Name", { exact: true }).fill(names.basic);
  await page.getByLabel("Base URL").fill(upstream.base);
  await page.getByRole("radio", { name: "Basic" }).check();
  await page.getByLabel("Username").fill("svc@example.com");
  await page.getByLabel("Password").fill(secrets.basic);
  await save(page, names.basic);

  await openAdd(page);
  await page.getByLabel("Name", { exact: true }).fill(names.bearer);
  await page.getByLabel("Base URL").fill(upstream.base);
  await page.getByRole("radio", { name: "Bearer" }).check();
  await page.getByLabel("Token").fill(secrets.bearer);
  await save(page, names.bearer);

  await openAdd(page);
  await page.getByLabel("Name", { exact: true }).fill(names.header);
  await page.getByLabel("Base URL").fill(upstream.base);
  await page.getByRole("radio", { name: "Header" }).check();
  await page.getByLabel("Header name", { exact: true }).fill("X-Api-Key");
  await page.getByLabel("API key").fill(secrets.header);
  // A second credential as a Secret header: typed in a password field, never shown again.
  await page.getByRole("button", { name: "Add Header" }).click();
  await page.getByLabel("Header 1 name").fill("X-App-Key");
  await page.getByLabel("Header 1 value").fill(secrets.secretHeader);
  await expect(page.getByText("This name looks like a credential: tick Secret before saving.")).toBeVisible();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("X-App-Key looks like it carries a credential: mark the header Secret")).toBeVisible();
  await page.getByLabel("Header 1 is secret").check();
  await expect(page.getByLabel("Header 1 value")).toHaveAttribute("type", "password");
  await expect(page.getByText("This name looks like a credential")).toHaveCount(0);
  await save(page, names.header);
  await page.getByRole("button", { name: `Edit ${names.header}`, exact: true }).click();
  await expect(page.getByLabel("Header 1 name")).toHaveValue("X-App-Key");
  await expect(page.getByLabel("Header 1 is secret")).toBeChecked();
  await expect(page.getByLabel("Header 1 value")).toHaveValue("");
  await expect(page.getByLabel("Header 1 value")).toHaveAttribute("placeholder", "Stored; leave empty to keep");
  await page.getByRole("button", { name: "Cancel" }).click();

  await openAdd(page);
  await page.getByLabel("Name", { exact: true }).fill(names.query);
  await page.getByLabel("Base URL").fill(upstream.base);
  await page.getByRole("radio", { name: "Query" }).check();
  await page.getByLabel("Parameter name").fill("apiKey");
  await page.getByLabel("API key").fill(secrets.query);
  // Test the unsaved form before saving it.
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Connected" })).toContainText("200 OK");
  await save(page, names.query);

  // A duplicate name is flagged as you type, and refused by the server on Save.
  await openAdd(page);
  await page.getByLabel("Name", { exact: true }).fill(names.basic.toLowerCase());
  await expect(page.getByText(`A connector named ${names.basic.toLowerCase()} already exists.`)).toBeVisible();
  await page.getByLabel("Base URL").fill("ftp://example.com");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("fields need fixing");
  await expect(page.getByText("Only http:// and https:// URLs are supported.")).toBeVisible();
  // The summary names the fields, the keyboard goes to the first down the form (Name, though
  // base_url sorts first by field name), and each input is described by its error.
  await expect(page.getByRole("alert")).toContainText("Base URL");
  await expect(page.getByLabel("Name", { exact: true })).toBeFocused();
  await expect(page.getByLabel("Base URL")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Base URL")).toHaveAccessibleDescription("Only http:// and https:// URLs are supported.");
  // An international host name is refused with its ASCII (xn--) form spelled out.
  await page.getByLabel("Base URL").fill("https://bücher.example/v1");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(
    page.getByText("Write the host name in its ASCII form: xn--bcher-kva.example for bücher.example."),
  ).toBeVisible();
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue(names.basic.toLowerCase());
  await page.getByRole("button", { name: "Cancel" }).click();

  // Edit Bearer without touching its secret, then test it: the stored token is sent.
  await page.getByRole("button", { name: `Edit ${names.bearer}`, exact: true }).click();
  await expect(page.getByText("•••••• set")).toBeVisible();
  await expect(page.getByRole("button", { name: "Replace token" })).toBeVisible();
  await page.getByLabel("Base URL").fill(`${upstream.base}/v2`);
  await page.getByLabel("Test path (optional)").fill("/myself");
  upstream.seen.length = 0;
  // Enter in the test path tests, as the button does; it does not save and close the form.
  await page.getByLabel("Test path (optional)").press("Enter");
  await expect(page.getByRole("status").filter({ hasText: "Connected" })).toContainText("200 OK");
  await expect(page.getByLabel("Base URL")).toHaveValue(`${upstream.base}/v2`);
  expect(upstream.seen.map((r) => r.url)).toEqual(["/api/v2/myself"]);
  expect(upstream.seen[0].headers.authorization).toBe(`Bearer ${secrets.bearer}`);
  await save(page, names.bearer);
  await expect(page.getByRole("row", { name: new RegExp(names.bearer) })).toContainText("/api/v2");

  // The other credentials travel in their places.
  for (const [name, check] of [
    [names.basic, (r: IncomingMessage) => expect(r.headers.authorization).toBe(`Basic ${Buffer.from(`svc@example.com:${secrets.basic}`).toString("base64")}`)],
    [names.header, (r: IncomingMessage) => {
      expect(r.headers["x-api-key"]).toBe(secrets.header);
      expect(r.headers["x-app-key"]).toBe(secrets.secretHeader);
    }],
    [names.query, (r: IncomingMessage) => expect(r.url).toBe(`/api?apiKey=${secrets.query}`)],
    [names.none, (r: IncomingMessage) => expect(r.headers["x-organization-id"]).toBe("42")],
  ] as const) {
    upstream.seen.length = 0;
    await page.getByRole("button", { name: `Edit ${name}`, exact: true }).click();
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Connected" })).toBeVisible();
    expect(upstream.seen).toHaveLength(1);
    check(upstream.seen[0]);
    await page.getByRole("button", { name: "Cancel" }).click();
  }

  // Toggle status in place.
  const toggle = page.getByRole("switch", { name: `${names.header} enabled` });
  await expect(toggle).toHaveAttribute("aria-checked", "true");
  await toggle.click();
  await expect(page.getByRole("switch", { name: `${names.header} enabled` })).toHaveAttribute("aria-checked", "false");

  // Search, then delete with confirmation.
  await page.getByLabel("Search connectors").fill(`None ${run}`);
  await expect(page.getByRole("button", { name: /^Edit E2E/ })).toHaveCount(1);
  await page.getByRole("button", { name: `Edit ${names.none}`, exact: true }).click();
  await page.getByRole("button", { name: "Delete connector" }).click();
  const confirm = page.getByRole("alertdialog", { name: `Delete ${names.none}?` });
  await expect(confirm).toContainText("No workflow uses this connector");
  await confirm.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page.getByText("No connector matches that name.")).toBeVisible();
  await page.getByLabel("Search connectors").fill("");
  await expect(page.getByRole("button", { name: `Edit ${names.basic}`, exact: true })).toBeVisible();

  // The secret canary: not in the page, not in the server log, not in the wasm or JS bundles.
  upstream.server.close();
  const leaks: string[] = [];
  const haystacks: [string, string][] = [["the page", await page.content()]];
  for (const path of ["/settings/connectors", "/audit-log", "/api/v1/audit-log.csv", "/api/v2/connectors"]) {
    haystacks.push([path, await (await page.request.get(path)).text()]);
  }
  haystacks.push(["/api/connectors/list", await (await page.request.post("/api/connectors/list", { form: {}, headers: { origin: new URL(page.url()).origin } })).text()]);
  const pkg = join("..", "target", "site", "pkg");
  for (const file of readdirSync(pkg)) {
    haystacks.push([`bundle ${file}`, readFileSync(join(pkg, file)).toString("latin1")]);
  }
  const dataDir = process.env.E2E_DATA_DIR ?? "target/e2e-data";
  haystacks.push(["the server log", readFileSync(join(dataDir, "server.log"), "utf8")]);
  for (const file of readdirSync(dataDir).filter((f) => f.startsWith("switchboard.db"))) {
    if (statSync(join(dataDir, file)).isFile()) haystacks.push([`database ${file}`, readFileSync(join(dataDir, file)).toString("latin1")]);
  }
  expect(haystacks.find(([what]) => what === "the server log")![1]).toContain("/api/connectors/test");
  for (const [what, text] of haystacks) {
    for (const secret of Object.values(secrets)) {
      if (text.includes(secret)) leaks.push(`${secret} in ${what}`);
    }
  }
  expect(leaks).toEqual([]);
});

test("a Read Only account sees connectors but cannot change them", async ({ page, browser, baseURL }) => {
  const reader = { email: `conn-reader-${run}@example.com`, password: "reader password 2" };
  const name = `E2E Visible ${run}`;
  const origin = { origin: baseURL! };
  const made = await page.request.post("/api/connectors/save", {
    data: { id: null, input: { name, base_url: "https://api.example.com/v1", auth: { type: "bearer", token: canary("reader") } } },
    headers: origin,
  });
  expect(made.status()).toBe(200);
  const id = (await made.json()).id;
  const account = await page.request.post("/api/accounts/create", {
    form: { email: reader.email, name: "Reader", role: "read_only", password: reader.password },
    headers: origin,
  });
  expect(account.status(), await account.text()).toBe(200);

  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const readerPage = await context.newPage();
  await signIn(readerPage, reader.email, reader.password);
  await readerPage.goto("/settings/connectors");
  await hydrated(readerPage);
  await expect(readerPage.getByRole("cell", { name, exact: true })).toBeVisible();
  await expect(readerPage.getByRole("button", { name: "+ Add connector" })).toHaveCount(0);
  await expect(readerPage.getByRole("button", { name: `Edit ${name}` })).toHaveCount(0);
  await expect(readerPage.getByRole("switch")).toHaveCount(0);
  for (const [path, data] of [
    ["/api/connectors/save", { id, input: { name: "hijacked", base_url: "https://evil.example", auth: { type: "none" } } }],
    ["/api/connectors/test", { id, input: { name, base_url: "https://evil.example", auth: { type: "bearer" } }, test_path: "" }],
  ] as const) {
    const response = await readerPage.request.post(path, { data, headers: origin });
    expect(response.status(), path).toBe(403);
  }
  for (const [path, form] of [
    ["/api/connectors/set_enabled", { id, enabled: "false" }],
    ["/api/connectors/delete", { id }],
  ] as const) {
    const response = await readerPage.request.post(path, { form, headers: origin });
    expect(response.status(), path).toBe(403);
  }
  expect(await readerPage.content()).not.toContain(canary("reader"));
  await context.close();
});

import { expect, request as playwrightRequest, test } from "@playwright/test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hydrated } from "./helpers";

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** A mock upstream on loopback that records request bodies by path. */
async function startUpstream(): Promise<{ server: Server; base: string; seen: { url: string; body: string }[] }> {
  const seen: { url: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      seen.push({ url: req.url ?? "", body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok": true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, seen };
}

test("copy a webhook URL from the trigger pane, fire it, sign it, regenerate it", async ({ page, context, baseURL }) => {
  const upstream = await startUpstream();
  const origin = { origin: baseURL! };
  const made = await page.request.post("/api/connectors/save", {
    data: { id: null, input: { name: `SIEM ${run}`, base_url: upstream.base, auth: { type: "none" } } },
    headers: origin,
  });
  expect(made.status(), await made.text()).toBe(200);
  const created = await (await page.request.post("/api/workflows/create", {
    form: { name: `Alert ${run}`, description: "", kind: "webhook" },
    headers: origin,
  })).json();
  const step = {
    key: "alert", name: "Alert",
    action: {
      type: "external_app_connector", connector_id: (await made.json()).id, method: "POST", path: "/api/v2/alerts",
      body: '{"actor": "{{ .input.body.actor.email }}", "target": "{{ .input.body.target.email }}"}', headers: [],
    },
  };
  const saved = await page.request.post("/api/workflows/save", {
    data: { id: created.id, version: 1, input: { name: created.name, description: "", enabled: true, trigger: created.trigger, steps: [step] } },
    headers: origin,
  });
  expect(saved.status(), await saved.text()).toBe(200);

  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  await page.goto(`/workflows/${created.id}`);
  await hydrated(page);
  await page.getByRole("button", { name: /^Trigger/ }).click();
  const pane = page.getByRole("complementary", { name: "Configuration" });
  const urlField = pane.getByLabel("Webhook URL");
  await expect(urlField).toHaveValue(/\/hooks\/[0-9a-f]{64}$/);
  const url = await urlField.inputValue();
  expect(url.startsWith(`${baseURL}/hooks/`)).toBe(true);
  await pane.getByRole("button", { name: "Copy" }).click();
  await expect(pane.getByRole("status").filter({ hasText: "Copied." })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
  // The preview renders the webhook's sample input.
  await page.getByRole("button", { name: "Step 1: Alert" }).click();
  await expect(pane).toContainText('"actor": "admin@example.com"');

  // Fire it as an outside system would: no session, just the URL.
  const outside = await playwrightRequest.newContext();
  const fired = await outside.post(url, { data: { actor: { email: "root@example.com" }, target: { email: "ada@example.com" } } });
  expect(fired.status(), await fired.text()).toBe(202);
  const { id } = await fired.json();
  await page.goto(`/runs/${id}`);
  await hydrated(page);
  await expect(page.getByRole("region", { name: `Alert ${run}` }).getByText("Succeeded", { exact: true })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByRole("region", { name: "Trigger input" })).toContainText('"email": "root@example.com"');
  expect(upstream.seen.map((s) => s.url)).toEqual(["/api/v2/alerts"]);
  expect(JSON.parse(upstream.seen[0].body)).toEqual({ actor: "root@example.com", target: "ada@example.com" });

  // A signing secret: unsigned calls are refused from then on.
  await page.goto(`/workflows/${created.id}`);
  await hydrated(page);
  await page.getByRole("button", { name: /^Trigger/ }).click();
  await expect(pane.getByText("Not set: calls need no signature.")).toBeVisible();
  const secret = `signing-secret-${run}`;
  await pane.getByLabel("Signing secret").fill(secret);
  await pane.getByRole("button", { name: "Set secret" }).click();
  await expect(pane.getByText(/^Set: calls must carry X-Switchboard-Signature/)).toBeVisible();
  await expect(pane.getByLabel("New signing secret")).toHaveValue("");
  const unsigned = await outside.post(url, { data: {} });
  expect(unsigned.status()).toBe(401);
  expect(await page.content()).not.toContain(secret);

  // Regenerate: asks first; the old URL stops working at once.
  await pane.getByRole("button", { name: "Regenerate" }).click();
  const confirm = pane.getByRole("alertdialog");
  await expect(confirm).toContainText("The current URL stops working at once");
  await confirm.getByRole("button", { name: "Regenerate URL" }).click();
  await expect(urlField).not.toHaveValue(url);
  await expect(urlField).toHaveValue(/\/hooks\/[0-9a-f]{64}$/);
  expect((await outside.post(url, { data: {} })).status()).toBe(404);
  await outside.dispose();
  upstream.server.close();
});

test("an event trigger's filter is checked as it is typed and saved with the workflow", async ({ page, baseURL }) => {
  const created = await (await page.request.post("/api/workflows/create", {
    form: { name: `Engineering hires ${run}`, description: "", kind: "event" },
    headers: { origin: baseURL! },
  })).json();
  await page.goto(`/workflows/${created.id}`);
  await hydrated(page);
  await page.getByRole("button", { name: /^Trigger/ }).click();
  const pane = page.getByRole("complementary", { name: "Configuration" });
  const filter = pane.getByLabel("Filter (optional)");
  await filter.fill('resource.department = "Engineering"');
  await expect(pane.getByText(/expected ==, != or contains/)).toBeVisible();
  await filter.fill('resource.department == "Engineering"');
  await expect(pane.getByText(/expected ==, != or contains/)).toHaveCount(0);
  // A sample input's integer beyond 64 bits is named, not kept rounded.
  const sample = pane.getByLabel("Sample input JSON");
  const before = await sample.inputValue();
  await sample.fill('{"id": 123456789012345678901234}');
  await expect(pane.getByText(/holds the number 123456789012345678901234, too large to keep exactly/)).toBeVisible();
  await sample.fill(before);
  await expect(pane.getByText(/too large to keep exactly/)).toHaveCount(0);
  const unsaved = page.getByRole("region", { name: "Unsaved changes" });
  await unsaved.getByRole("button", { name: "Save changes" }).click();
  await expect(unsaved).toHaveCount(0);
  const stored = await (await page.request.post("/api/workflows/get", { form: { id: created.id }, headers: { origin: baseURL! } })).json();
  expect(stored.trigger.filter).toBe('resource.department == "Engineering"');
});

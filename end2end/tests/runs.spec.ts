import { expect, test } from "@playwright/test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hydrated } from "./helpers";

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

type Seen = { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string };

/**
 * A mock upstream on loopback that records requests and answers with JSON echoing the path.
 * `hold()` keeps the next answers back until the function it returns is called.
 */
async function startUpstream(): Promise<{ server: Server; base: string; seen: Seen[]; hold: () => () => void }> {
  const seen: Seen[] = [];
  let gate: Promise<void> = Promise.resolve();
  const hold = () => {
    let release = () => {};
    gate = new Promise<void>((resolve) => (release = resolve));
    return release;
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", async () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      await gate;
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "TICKET-1", path: req.url, authorization: req.headers.authorization ?? null }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}/rest`, seen, hold };
}

test("run a manual workflow from the canvas, follow it, read the masked request; Test this step", async ({ page, baseURL }) => {
  const upstream = await startUpstream();
  const origin = { origin: baseURL! };
  const token = `CANARYrun${run}`;
  const connectorName = `Tickets ${run}`;
  const made = await page.request.post("/api/connectors/save", {
    data: { id: null, input: { name: connectorName, base_url: upstream.base, auth: { type: "bearer", token } } },
    headers: origin,
  });
  expect(made.status(), await made.text()).toBe(200);
  const connectorId = (await made.json()).id;
  const created = await (await page.request.post("/api/workflows/create", {
    form: { name: `Run me ${run}`, description: "", kind: "manual" },
    headers: origin,
  })).json();
  const step = {
    key: "create_ticket", name: "Create ticket",
    action: {
      type: "external_app_connector", connector_id: connectorId, method: "POST", path: "/api/2/issue",
      body: '{"fields": {"summary": "New user ${input.resource.username}", "labels": ["{{ .input.resource.username }}"]}}',
      headers: [{ key: "X-Source", value: "switchboard" }],
    },
  };
  const saved = await page.request.post("/api/workflows/save", {
    data: { id: created.id, version: 1, input: { name: created.name, description: "", enabled: true, trigger: created.trigger, steps: [step] } },
    headers: origin,
  });
  expect(saved.status(), await saved.text()).toBe(200);

  await page.goto(`/workflows/${created.id}`);
  await hydrated(page);
  const pane = page.getByRole("complementary", { name: "Configuration" });

  // Test this step: a POST asks first, then shows the masked request and the response.
  await page.getByRole("button", { name: "Step 1: Create ticket" }).click();
  await pane.getByRole("button", { name: "Test this step" }).click();
  const confirm = pane.getByRole("alertdialog");
  await expect(confirm).toContainText("This sends a real POST request");
  expect(upstream.seen).toHaveLength(0);
  await confirm.getByRole("button", { name: "Send POST" }).click();
  const result = pane.getByRole("status", { name: "Test result" });
  await expect(result).toContainText("Succeeded in");
  await expect(result.getByLabel("Request", { exact: true })).toContainText(`POST ${upstream.base}/api/2/issue`);
  await expect(result.getByLabel("Request", { exact: true })).toContainText("Authorization: Bearer ••••••");
  await expect(result.getByLabel("Response", { exact: true })).toContainText('"id": "TICKET-1"');
  await expect(result.getByLabel("Response", { exact: true })).toContainText("[REDACTED]");
  expect(upstream.seen).toHaveLength(1);

  // Run: the input JSON, prefilled with the sample; the run page follows the run to its end,
  // and says so when it ends (the upstream holds its answer until the page shows the run going).
  const release = upstream.hold();
  await page.getByRole("button", { name: "Run", exact: true }).click();
  const input = pane.getByLabel("Input JSON");
  await expect(input).toHaveValue(/"username": "ada"/);
  await input.fill('{"resource": {"username": "grace"}}');
  await pane.getByRole("button", { name: "Start run" }).click();
  await expect(page).toHaveURL(/\/runs\/[0-9a-f-]+$/);
  await expect(page.getByRole("heading", { level: 2 })).toContainText(`Run me ${run}`);
  await expect(page).toHaveTitle(new RegExp(`^Run me ${run} · run `));
  const summary = page.getByRole("region", { name: `Run me ${run}` });
  await expect(summary.getByText("Running", { exact: true })).toBeVisible({ timeout: 15_000 });
  const announced = page.getByRole("main").getByRole("status");
  await expect(announced).not.toHaveText("The run succeeded.");
  release();
  await expect(summary.getByText("Succeeded", { exact: true })).toBeVisible({ timeout: 15_000 });
  await expect(announced).toHaveText("The run succeeded.");
  // A run already over when the page opens is not news.
  await page.reload();
  await hydrated(page);
  await expect(summary.getByText("Succeeded", { exact: true })).toBeVisible();
  await expect(announced).toHaveText("");
  await expect(page.getByRole("region", { name: "Trigger input" })).toContainText('"username": "grace"');
  const request = page.getByRole("article", { name: /Create ticket/ }).getByLabel("Request", { exact: true });
  await expect(request).toContainText(`POST ${upstream.base}/api/2/issue`);
  await expect(request).toContainText("Authorization: Bearer ••••••");
  await expect(request).toContainText('"summary": "New user grace"');
  await expect(page.getByRole("article", { name: /Create ticket/ }).getByLabel("Response", { exact: true })).toContainText('"id": "TICKET-1"');
  expect(upstream.seen).toHaveLength(2);
  expect(JSON.parse(upstream.seen[1].body)).toEqual({ fields: { summary: "New user grace", labels: ["grace"] } });
  expect(upstream.seen[1].headers.authorization).toBe(`Bearer ${token}`);
  expect(await page.content()).not.toContain(token);

  // The workflows list links to its runs: the Runs page, filtered by the workflow.
  await page.goto("/workflows");
  await hydrated(page);
  await page.getByRole("link", { name: `Runs of Run me ${run}` }).click();
  await expect(page).toHaveURL(new RegExp(`/runs\\?workflow=${created.id}$`));
  await expect(page.getByLabel("Workflow")).toHaveValue(created.id);
  await expect(page.getByRole("table", { name: "Runs" }).getByRole("row")).toHaveCount(2);

  // The Runs page lists it, filtered by workflow and status.
  await page.goto("/runs");
  await hydrated(page);
  await page.getByLabel("Workflow").selectOption({ label: `Run me ${run}` });
  await page.getByLabel("Status").selectOption("succeeded");
  const rows = page.getByRole("table", { name: "Runs" }).getByRole("row");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1)).toContainText(`Run me ${run}`);
  await expect(rows.nth(1)).toContainText("Succeeded");
  await page.getByLabel("Status").selectOption("failed");
  await expect(page.getByText("No runs")).toBeVisible();
  expect(await page.content()).not.toContain(token);
  upstream.server.close();
});

test("the runs list shows a page at a time: Older runs and Newest runs", async ({ page, baseURL }) => {
  const origin = { origin: baseURL! };
  const created = await (await page.request.post("/api/workflows/create", {
    form: { name: `Paged ${run}`, description: "", kind: "manual" },
    headers: origin,
  })).json();
  // 101 runs of a workflow with no steps: one more than a page.
  for (let i = 0; i < 101; i++) {
    const started = await page.request.post("/api/runs/start", { form: { workflow_id: created.id, input: "" }, headers: origin });
    expect(started.status(), await started.text()).toBe(200);
  }
  await page.goto(`/runs?workflow=${created.id}`);
  await hydrated(page);
  const rows = page.getByRole("table", { name: "Runs" }).getByRole("row");
  await expect(rows).toHaveCount(101); // the header and 100 runs
  const pager = page.getByRole("navigation", { name: "Pages of runs" });
  await expect(pager.getByRole("link", { name: "Newest runs" })).toHaveCount(0);
  const newestPage = await rows.nth(1).textContent();
  await pager.getByRole("link", { name: "Older runs" }).click();
  await expect(rows).toHaveCount(2); // the oldest run alone
  await expect(rows.nth(1)).not.toHaveText(newestPage!);
  await expect(pager.getByRole("link", { name: "Older runs" })).toHaveCount(0);
  await pager.getByRole("link", { name: "Newest runs" }).click();
  await expect(rows).toHaveCount(101);
});

import { expect, test, type Page } from "@playwright/test";
import { hydrated } from "./helpers";

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

async function makeConnector(page: Page, baseURL: string, name: string) {
  const made = await page.request.post("/api/connectors/save", {
    data: { id: null, input: { name, base_url: "https://alerts.example.com/v1", auth: { type: "bearer", token: "e2e-token" } } },
    headers: { origin: baseURL },
  });
  expect(made.status(), await made.text()).toBe(200);
}

async function saveExpectingError(page: Page, says: string) {
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("region", { name: "Unsaved changes" }).getByRole("alert")).toContainText(says);
}

test("build a workflow on the canvas: pick External App Connector, configure it, save, reload", async ({ page, baseURL }) => {
  const connector = `Alerts ${run}`;
  const name = `Provisioning ticket ${run}`;
  await makeConnector(page, baseURL!, connector);

  await page.goto("/workflows");
  await hydrated(page);
  // The form takes the focus at its first field; Cancel gives it back to New workflow.
  await page.getByRole("button", { name: "New workflow" }).click();
  await expect(page.getByLabel("Name", { exact: true })).toBeFocused();
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByRole("button", { name: "New workflow" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByLabel("Name", { exact: true })).toBeFocused();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Description (optional)").fill("Opens a ticket for each new account");
  await expect(page.getByRole("radio", { name: "Manual" })).toBeChecked();
  await page.getByRole("button", { name: "Create and open" }).click();
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]+$/);
  await expect(page.getByRole("heading", { level: 2, name })).toBeVisible();
  await hydrated(page);
  await expect(page).toHaveTitle(new RegExp(`^${name} · Workflow`));

  // + → Action Type → search → External App Connector.
  // The picker takes the focus; Escape closes it and gives the focus back to its +.
  const add = page.getByRole("button", { name: "Add a step after the trigger" });
  await add.click();
  const picker = page.getByRole("dialog", { name: "Action Type" });
  await expect(picker.getByLabel("Search actions")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(picker).toHaveCount(0);
  await expect(add).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(picker.getByLabel("Search actions")).toBeFocused();
  await picker.getByLabel("Search actions").fill("nothing like this");
  await expect(picker.getByText("No action matches.")).toBeVisible();
  await picker.getByLabel("Search actions").fill("External");
  await picker.getByRole("button", { name: /External App Connector/ }).click();
  const card = page.getByRole("button", { name: "Step 1: External App Connector" });
  await expect(card).toBeFocused();
  await expect(page.getByRole("note").filter({ hasText: "Select a connector." })).toBeVisible();

  // The configuration pane.
  const pane = page.getByRole("complementary", { name: "Configuration" });
  await pane.getByLabel("Step name").fill("Create ticket");
  await expect(page.getByRole("button", { name: "Step 1: Create ticket" })).toBeVisible();
  await pane.getByLabel("Select Connector").selectOption({ label: connector });
  await expect(pane.getByText("https://alerts.example.com/v1", { exact: true })).toBeVisible();
  await pane.getByLabel("HTTP Method").selectOption("POST");
  await pane.getByLabel("Endpoint Path").fill("https://alerts.example.com/v1/api/v2/alerts");
  await expect(pane.getByText("Enter only the path, e.g. /api/resource — the base URL comes from the connector.").first()).toBeVisible();
  await expect(pane.getByLabel("Endpoint Path")).toHaveAttribute("aria-invalid", "true");
  await expect(pane.getByLabel("Endpoint Path")).toHaveAccessibleDescription(/^https:\/\/alerts\.example\.com\/v1 .*Enter only the path/);
  await pane.getByRole("button", { name: "Use /api/v2/alerts instead" }).click();
  await expect(pane.getByLabel("Endpoint Path")).toHaveValue("/api/v2/alerts");
  await expect(pane.getByLabel("Endpoint Path")).toHaveAttribute("aria-invalid", "false");
  await pane.getByLabel("Request Body JSON").fill('{"summary": "New user ${input.resource.username}", "reporter": {{ .input.body.actor.email }}}');
  await pane.getByRole("button", { name: "Format" }).click();
  await expect(pane.getByLabel("Request Body JSON")).toHaveValue('{\n  "summary": "New user ${input.resource.username}",\n  "reporter": {{ .input.body.actor.email }}\n}');
  await pane.getByRole("button", { name: "Add Header" }).click();
  await pane.getByLabel("Header 1 name").fill("X-Source");
  await pane.getByLabel("Header 1 value").fill("switchboard");
  const preview = pane.getByLabel("Request preview");
  await expect(preview).toContainText(`POST https://alerts.example.com/v1/api/v2/alerts`);
  await expect(preview).toContainText('"summary": "New user ada"');
  await expect(preview).toContainText("Authorization: Bearer ••••••");
  await expect(preview).toContainText("X-Source: switchboard");
  await expect(page.getByRole("button", { name: "Step 1: Create ticket" })).toContainText(`${connector} · POST /api/v2/alerts`);

  // Save, reload, find everything as saved.
  const unsaved = page.getByRole("region", { name: "Unsaved changes" });
  await expect(unsaved).toContainText("You have unsaved changes");
  await unsaved.getByRole("button", { name: "Save changes" }).click();
  await expect(unsaved).toHaveCount(0);
  await expect(page.getByText("Version 2")).toBeVisible();
  await page.reload();
  await hydrated(page);
  // Opening a card takes the keyboard into its pane (Tab goes on to the fields), and Escape
  // brings it back to the card, which shows it is the one open.
  const opened = page.getByRole("button", { name: "Step 1: Create ticket" });
  await expect(opened).toHaveAttribute("aria-pressed", "false");
  await opened.click();
  await expect(opened).toHaveAttribute("aria-pressed", "true");
  await expect(pane.getByRole("heading", { name: "External App Connector" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(pane.getByLabel("Step name")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(opened).toBeFocused();
  await expect(pane.getByLabel("Select Connector")).toHaveValue(/.+/);
  await expect(pane.getByLabel("HTTP Method")).toHaveValue("POST");
  await expect(pane.getByLabel("Endpoint Path")).toHaveValue("/api/v2/alerts");
  await expect(pane.getByLabel("Request Body JSON")).toHaveValue(/\{\{ \.input\.body\.actor\.email \}\}/);
  await expect(pane.getByLabel("Header 1 value")).toHaveValue("switchboard");

  // Invalid nodes block the save, and the message names the node and the field.
  await pane.getByLabel("Endpoint Path").fill("https://elsewhere.example/x");
  await saveExpectingError(page, "Step 1 “Create ticket”, Endpoint Path: Enter only the path");
  await page.getByRole("button", { name: "Discard" }).click();
  await page.getByRole("button", { name: "Step 1: Create ticket" }).click();
  await pane.getByLabel("Request Body JSON").fill('{"summary": }');
  await saveExpectingError(page, "Step 1 “Create ticket”, Request Body JSON: Line 1, column 13");
  await page.getByRole("button", { name: "Discard" }).click();
  await page.getByRole("button", { name: "Step 1: Create ticket" }).click();
  await pane.getByLabel("Select Connector").selectOption({ label: "Choose a connector…" });
  await saveExpectingError(page, "Step 1 “Create ticket”, Select Connector: Select a connector.");
  await page.getByRole("button", { name: "Discard" }).click();
  await expect(page.getByRole("region", { name: "Unsaved changes" })).toHaveCount(0);

  // By keyboard, the focus follows the step: to the copy, to where a step moved (so a second
  // Enter does not move the other one back), and after a delete to the step in its place.
  await page.getByRole("button", { name: "Duplicate Create ticket" }).press("Enter");
  await expect(page.getByRole("button", { name: "Step 2: Create ticket (copy)" })).toBeFocused();
  await page.getByRole("button", { name: "Move Create ticket (copy) up" }).press("Enter");
  await expect(page.getByRole("button", { name: "Move Create ticket (copy) up" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "Step 1: Create ticket (copy)" })).toBeVisible();
  await page.getByRole("button", { name: "Delete Create ticket (copy)" }).press("Enter");
  await expect(page.getByRole("button", { name: "Step 1: Create ticket" })).toBeFocused();
  // Insert field: choosing inserts nothing; Insert does, once, and the choice resets.
  await page.getByRole("button", { name: "Step 1: Create ticket" }).click();
  const body = pane.getByLabel("Request Body JSON");
  const before = await body.inputValue();
  await pane.getByLabel("Insert field").selectOption("input.resource.username");
  await expect(body).toHaveValue(before);
  await pane.getByRole("button", { name: "Insert", exact: true }).click();
  await expect(body).toHaveValue(before + "${input.resource.username}");
  await expect(pane.getByLabel("Insert field")).toHaveValue("");
  await expect(pane.getByRole("button", { name: "Insert", exact: true })).toBeDisabled();
  await page.getByRole("button", { name: "Discard" }).click();
  await expect(page.getByRole("region", { name: "Unsaved changes" })).toHaveCount(0);

  // The connector is now in use: its delete confirmation names the workflow.
  await page.goto("/settings/connectors");
  await hydrated(page);
  await page.getByRole("button", { name: `Edit ${connector}`, exact: true }).click();
  await page.getByRole("button", { name: "Delete connector" }).click();
  const confirm = page.getByRole("alertdialog", { name: `Delete ${connector}?` });
  await expect(confirm).toContainText(`It is used by 1 workflow: ${name}.`);
  await expect(confirm.getByRole("button", { name: "Delete", exact: true })).toBeDisabled();
  // The confirmation takes the focus on its safe button; Escape closes it and gives the focus back.
  await expect(confirm.getByRole("button", { name: "Keep it" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(confirm).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Delete connector" })).toBeFocused();
});

test("the workflows list: duplicate, disable and delete", async ({ page }) => {
  const name = `List test ${run}`;
  await page.goto("/workflows");
  await hydrated(page);
  await page.getByRole("button", { name: "New workflow" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("radio", { name: "Event" }).check();
  await page.getByRole("button", { name: "Create and open" }).click();
  await expect(page.getByRole("heading", { level: 2, name })).toBeVisible();
  await page.goto(`/workflows?q=${encodeURIComponent(run)}`);
  await hydrated(page);
  await page.getByLabel("Search workflows").fill(`List test ${run}`);
  const row = page.getByRole("row", { name: new RegExp(`^${name}`) });
  await expect(row).toContainText("Event");
  await page.getByRole("button", { name: `Duplicate ${name}` }).click();
  await page.getByLabel("Search workflows").fill(run);
  await expect(page.getByRole("link", { name: `Copy of ${name}`, exact: true })).toBeVisible();
  await expect(page.getByRole("switch", { name: `Copy of ${name} enabled` })).toHaveAttribute("aria-checked", "false");
  await page.getByRole("switch", { name: `${name} enabled`, exact: true }).click();
  await expect(page.getByRole("switch", { name: `${name} enabled`, exact: true })).toHaveAttribute("aria-checked", "false");
  await page.getByRole("button", { name: `Delete Copy of ${name}` }).click();
  await page.getByRole("alertdialog", { name: `Delete Copy of ${name}?` }).getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page.getByRole("link", { name: `Copy of ${name}`, exact: true })).toHaveCount(0);
  await expect(page.getByRole("link", { name, exact: true })).toBeVisible();
});

test("a canvas with 200 cards opens and stays interactive", async ({ page, baseURL }) => {
  const origin = { origin: baseURL! };
  const connectorName = `Bulk ${run}`;
  await makeConnector(page, baseURL!, connectorName);
  const connectors = await (await page.request.post("/api/connectors/list", { form: { search: connectorName }, headers: origin })).json();
  const connectorId = connectors[0].id;
  const created = await page.request.post("/api/workflows/create", {
    form: { name: `Two hundred ${run}`, description: "", kind: "manual" },
    headers: origin,
  });
  const workflow = await created.json();
  const steps = Array.from({ length: 200 }, (_, i) => ({
    key: `step_${i + 1}`,
    name: `Notify ${i + 1}`,
    action: {
      type: "external_app_connector", connector_id: connectorId, method: "POST", path: `/api/items/${i + 1}`,
      body: '{"user": "${input.resource.username}"}', headers: [],
    },
  }));
  const saved = await page.request.post("/api/workflows/save", {
    data: { id: workflow.id, version: workflow.version, input: { name: workflow.name, description: "", enabled: true, trigger: workflow.trigger, steps } },
    headers: origin,
  });
  expect(saved.status(), await saved.text()).toBe(200);

  const started = Date.now();
  await page.goto(`/workflows/${workflow.id}`);
  await hydrated(page);
  await expect(page.getByRole("button", { name: "Step 200: Notify 200" })).toBeAttached();
  const openMs = Date.now() - started;

  const clicked = Date.now();
  await page.getByRole("button", { name: "Step 150: Notify 150" }).click();
  await expect(page.getByRole("complementary", { name: "Configuration" }).getByLabel("Step name")).toHaveValue("Notify 150");
  const selectMs = Date.now() - clicked;

  // Typing in the pane updates its card.
  const typed = Date.now();
  await page.getByRole("complementary", { name: "Configuration" }).getByLabel("Step name").fill("Notify one-fifty");
  await expect(page.getByRole("button", { name: "Step 150: Notify one-fifty" })).toBeVisible();
  const typeMs = Date.now() - typed;

  await page.getByRole("button", { name: "Fit to screen" }).click();
  await expect(page.getByRole("toolbar", { name: "Canvas view" })).toContainText("20%");
  test.info().annotations.push({ type: "timing", description: `200 cards: open ${openMs} ms, select ${selectMs} ms, rename ${typeMs} ms` });
  console.log(`200 cards: open ${openMs} ms (navigation to hydrated, all cards present), select ${selectMs} ms, rename ${typeMs} ms`);
});

test("History restores a version; leaving with unsaved changes asks first", async ({ page, baseURL }) => {
  const origin = { origin: baseURL! };
  const created = await (await page.request.post("/api/workflows/create", {
    form: { name: `History ${run}`, description: "", kind: "manual" },
    headers: origin,
  })).json();
  const step = { key: "notify", name: "Notify", action: { type: "external_app_connector", connector_id: "", method: "GET", path: "", body: "", headers: [] } };
  // An incomplete step cannot be saved; give the workflow a valid one through a connector.
  const connectorName = `History connector ${run}`;
  await makeConnector(page, baseURL!, connectorName);
  const connectors = await (await page.request.post("/api/connectors/list", { form: { search: connectorName }, headers: origin })).json();
  step.action.connector_id = connectors[0].id;
  step.action.path = "/notify";
  const saved = await page.request.post("/api/workflows/save", {
    data: { id: created.id, version: 1, input: { name: created.name, description: "", enabled: true, trigger: created.trigger, steps: [step] } },
    headers: origin,
  });
  expect(saved.status(), await saved.text()).toBe(200);

  await page.goto(`/workflows/${created.id}`);
  await hydrated(page);
  await expect(page.getByRole("button", { name: "Step 1: Notify" })).toBeVisible();
  await page.getByRole("button", { name: "History" }).click();
  const pane = page.getByRole("complementary", { name: "Configuration" });
  await expect(pane.getByText("Version 2")).toBeVisible();
  await expect(pane.getByRole("heading", { name: "History" })).toBeFocused();
  await expect(pane).toContainText("(current)");
  await pane.getByRole("button", { name: "Restore version 1" }).click();
  await expect(page.getByRole("button", { name: "Step 1: Notify" })).toHaveCount(0);
  await expect(page.getByText("Version 3", { exact: true })).toBeVisible();
  // The pane closed with the restore: the focus is back on History, not lost to the page.
  await expect(page.getByRole("button", { name: "History" })).toBeFocused();

  // With unsaved changes, Restore asks first: keeping them leaves the draft as it is.
  const addStep = async () => {
    await page.getByRole("button", { name: "Add a step after the trigger" }).click();
    await page.getByRole("dialog", { name: "Action Type" }).getByRole("button", { name: /External App Connector/ }).click();
    await expect(page.getByRole("region", { name: "Unsaved changes" })).toBeVisible();
  };
  await addStep();
  await page.getByRole("button", { name: "History" }).click();
  await pane.getByRole("button", { name: "Restore version 2" }).click();
  await expect(pane.getByRole("alert")).toContainText("You have unsaved changes. Restoring version 2 replaces them.");
  await pane.getByRole("button", { name: "Keep editing" }).click();
  await expect(pane.getByRole("alert")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Step 1: External App Connector" })).toBeVisible();
  await pane.getByRole("button", { name: "Restore version 2" }).click();
  await pane.getByRole("button", { name: "Discard my changes and restore version 2" }).click();
  await expect(page.getByText("Version 4", { exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Step 1: Notify" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Unsaved changes" })).toHaveCount(0);

  // An unsaved edit, then a link away: dismissing the question stays, accepting leaves.
  await addStep();
  const nav = page.getByRole("navigation", { name: "Main" });
  page.once("dialog", (dialog) => dialog.dismiss());
  await nav.getByRole("link", { name: "Runs", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/workflows/${created.id}$`));
  await expect(page.getByRole("button", { name: "Step 1: External App Connector" })).toBeVisible();
  page.once("dialog", (dialog) => dialog.accept());
  await nav.getByRole("link", { name: "Runs", exact: true }).click();
  await expect(page).toHaveURL(/\/runs$/);
});

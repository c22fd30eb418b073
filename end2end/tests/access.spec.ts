import { expect, test } from "@playwright/test";
import { ADMIN, hydrated, signIn } from "./helpers";

test.describe("signed out", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("setup is gone; sign in, sign out, sign in again", async ({ page }) => {
    await page.goto("/setup");
    await expect(page).toHaveURL(/\/sign-in$/);
    await hydrated(page);
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");

    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.goto("/workflows");
    await expect(page).toHaveURL(/\/sign-in$/);
    await signIn(page, ADMIN.email, ADMIN.password);
  });
});

test("a Read Only account sees no admin controls and is refused by the server", async ({ page, browser, baseURL }) => {
  const reader = { email: `reader-${Date.now()}@example.com`, password: "reader password 1" };
  await page.goto("/settings/administrators");
  await hydrated(page);
  await page.getByLabel("Email").fill(reader.email);
  await page.getByLabel("Name").fill("Reader");
  await page.getByLabel("Role", { exact: true }).selectOption({ label: "Read Only" });
  await page.getByLabel("Initial password").fill(reader.password);
  await page.getByRole("button", { name: "Add administrator" }).click();
  await expect(page.getByRole("cell", { name: reader.email, exact: true })).toBeVisible();
  // A form that went through is emptied: no password left in it, nothing to send twice.
  await expect(page.getByLabel("Initial password")).toHaveValue("");
  await expect(page.getByLabel("Email", { exact: true })).toHaveValue("");

  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const readerPage = await context.newPage();
  await signIn(readerPage, reader.email, reader.password);
  await hydrated(readerPage);
  const nav = readerPage.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Connectors" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Administrators" })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "API Keys" })).toHaveCount(0);
  for (const path of ["/workflows", "/runs", "/settings/connectors", "/settings/administrators", "/settings/api-keys", "/audit-log"]) {
    await readerPage.goto(path);
    await expect(readerPage.getByRole("heading", { level: 1 })).toBeVisible();
    await expect(readerPage.getByRole("button", { name: /^(Add|Save|Run|Create|Revoke|Reset)/ })).toHaveCount(0);
  }
  await readerPage.goto("/settings/administrators");
  await expect(readerPage.getByRole("status")).toContainText("Only an Administrator With Billing can manage accounts");

  // On a canvas a reader's fields are read-only, not disabled: still in the tab order, and a long
  // sample or body can be scrolled and selected by keyboard.
  const made = await page.request.post("/api/workflows/create", {
    form: { name: `Readable ${Date.now()}`, description: "", kind: "manual" },
    headers: { origin: baseURL! },
  });
  expect(made.status(), await made.text()).toBe(200);
  await readerPage.goto(`/workflows/${(await made.json()).id}`);
  await hydrated(readerPage);
  await readerPage.getByRole("button", { name: /^Trigger/ }).click();
  const sample = readerPage.getByRole("complementary", { name: "Configuration" }).getByLabel("Sample input JSON");
  await expect(sample).toBeEnabled();
  await expect(sample).not.toBeEditable();

  // Calling the server functions directly, from our own origin, is refused by role.
  for (const [path, form] of [
    ["/api/accounts/create", { email: "x@example.com", name: "X", role: "administrator", password: "long enough password" }],
    ["/api/api_keys/create", { name: "sneaky", role: "administrator" }],
    ["/api/accounts/list", {}],
  ] as const) {
    const response = await readerPage.request.post(path, { form, headers: { origin: baseURL! } });
    expect(response.status(), path).toBe(403);
    expect((await response.json()).kind).toBe("forbidden");
  }

  // Every role may change its own password, from the menu's account link.
  await readerPage.getByRole("link", { name: /Reader · Read Only/ }).click();
  await expect(readerPage.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();
  await hydrated(readerPage);
  await readerPage.getByLabel("Current password").fill(reader.password);
  await readerPage.getByLabel("New password", { exact: true }).fill("reader password 2");
  await readerPage.getByLabel("New password again").fill("reader password 2");
  await readerPage.getByRole("button", { name: "Change password" }).click();
  await expect(readerPage.getByRole("status")).toHaveText("Password changed. Your other sessions have ended.");
  for (const label of ["Current password", "New password", "New password again"]) {
    await expect(readerPage.getByLabel(label, { exact: true })).toHaveValue("");
  }
  await readerPage.goto("/workflows");
  await expect(readerPage.getByRole("heading", { level: 1, name: "Workflows" })).toBeVisible();
  await context.close();
});

test("an API key works in x-api-key until it is revoked", async ({ page, playwright, baseURL }) => {
  const name = `e2e key ${Date.now()}`;
  await page.goto("/settings/api-keys");
  await hydrated(page);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Role", { exact: true }).selectOption({ label: "Read Only" });
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByLabel("New API key")).toBeFocused();
  const key = await page.getByLabel("New API key").inputValue();
  expect(key).toMatch(/^sb_[0-9a-f]{10}_[0-9a-f]{64}$/);
  await expect(page.getByLabel("Name")).toHaveValue("");
  const prefix = key.slice(0, 13);
  const row = page.getByRole("row", { name: new RegExp(name) });
  await expect(row).toContainText(prefix);

  const api = await playwright.request.newContext({ baseURL });
  const me = await api.get("/api/v1/me", { headers: { "x-api-key": key } });
  expect(me.status()).toBe(200);
  expect((await me.json()).role).toBe("read_only");

  await row.getByRole("button", { name: `Revoke ${prefix}` }).click();
  await expect(row).toContainText("Revoked");
  const after = await api.get("/api/v1/me", { headers: { "x-api-key": key } });
  expect(after.status()).toBe(401);
  await api.dispose();

  // Once the page is reloaded the key is nowhere on it.
  await page.reload();
  await expect(page.getByRole("row", { name: new RegExp(name) })).toContainText("Revoked");
  expect(await page.content()).not.toContain(key);
});

test("the audit log lists events and filters them", async ({ page }) => {
  await page.goto("/audit-log");
  // The newest events first; the other tests add their own, so the first run's setup may be on a
  // later page: the filter finds it.
  await expect(page.getByRole("row").nth(1)).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Action").fill("account.setup");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=account\.setup/);
  await expect(page.getByRole("row")).toHaveCount(2);
  const csv = page.getByRole("link", { name: "Export CSV" });
  await expect(csv).toHaveAttribute("href", "/api/v1/audit-log.csv?action=account.setup");
});

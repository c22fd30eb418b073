import { expect, test } from "@playwright/test";

const pages = [
  { link: "Workflows", path: "/workflows", heading: "Workflows", placeholder: false },
  { link: "Runs", path: "/runs", heading: "Runs", placeholder: false },
  { link: "Connectors", path: "/settings/connectors", heading: "Connectors", placeholder: false },
  { link: "Administrators", path: "/settings/administrators", heading: "Administrators", placeholder: false },
  { link: "API Keys", path: "/settings/api-keys", heading: "API Keys", placeholder: false },
  { link: "Audit log", path: "/audit-log", heading: "Audit log", placeholder: false },
];

test("the shell loads with the main navigation", async ({ page }) => {
  const response = await page.goto("/");
  expect(response?.ok()).toBe(true);
  await expect(page).toHaveURL(/\/workflows$/);
  await expect(page.getByRole("heading", { level: 1, name: "Workflows" })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const { link } of pages) {
    await expect(nav.getByRole("link", { name: link, exact: true })).toBeVisible();
  }
  await expect(nav.getByRole("link", { name: "Workflows" })).toHaveAttribute("aria-current", "page");
});

test("the page hydrates: the navigation toggle works", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto("/workflows");
  const toggle = page.getByRole("button", { name: "Hide navigation" });
  // Rendered disabled on the server, enabled once the wasm has hydrated.
  await expect(toggle).toBeEnabled();
  await toggle.click();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeHidden();
  const show = page.getByRole("button", { name: "Show navigation" });
  await expect(show).toHaveAttribute("aria-expanded", "false");
  await show.press("Enter");
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  expect(errors).toEqual([]);
});

for (const { link, path, heading, placeholder } of pages) {
  test(`the ${link} link opens its page`, async ({ page }) => {
    await page.goto("/workflows");
    await expect(page.getByRole("button", { name: "Hide navigation" })).toBeEnabled();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${path}$`));
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
    await expect(page).toHaveTitle(new RegExp(`^${heading} · Switchboard$`));
    // A new page in place takes the focus to its content, as a full load would.
    if (path !== "/workflows") await expect(page.getByRole("main")).toBeFocused();
    await expect(page.getByRole("heading", { name: "Not built yet" })).toHaveCount(placeholder ? 1 : 0);
  });
}

test("each page loads its own code: named in the HTML, fetched with the main module, and no other page's", async ({ page }) => {
  const wasm: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith(".wasm")) wasm.push(path);
  });
  const response = await page.goto("/audit-log");
  const html = (await response?.text()) ?? "";
  // The server names the page's chunks, so they load with the main module, not after it.
  expect(html).toMatch(/<link[^>]* href="\/pkg\/split___audit_log_route_view_\d+\.wasm" rel="preload"/);
  expect(html).not.toMatch(/split___canvas_route_view_/);
  await expect(page.getByRole("button", { name: "Hide navigation" })).toBeEnabled();
  expect(wasm).toContain("/pkg/switchboard.wasm");
  expect(wasm.some((path) => path.startsWith("/pkg/split___audit_log_route_view_"))).toBe(true);
  expect(wasm.some((path) => path.startsWith("/pkg/split___canvas_route_view_"))).toBe(false);
  // Another page's code comes when that page is opened.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Connectors", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Connectors" })).toBeVisible();
  expect(wasm.some((path) => path.startsWith("/pkg/split___connectors_route_view_"))).toBe(true);
});

test("unknown pages say so and link back", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("not found", { ignoreCase: true });
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("every page is readable and the links work", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { level: 1, name: "Workflows" })).toBeVisible();
    for (const { link, path, heading } of pages) {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).click();
      await expect(page).toHaveURL(new RegExp(`${path}$`));
      await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
    }
    // The navigation stays open: its toggle needs the browser code.
    await expect(page.getByRole("button", { name: "Hide navigation" })).toBeDisabled();
  });
});

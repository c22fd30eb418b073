import { expect, test as setup } from "@playwright/test";
import { ADMIN, ADMIN_STATE, hydrated } from "./helpers";

setup("first run: create the first administrator", async ({ page }) => {
  await page.goto("/");
  // No account yet: any page leads to the setup form.
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole("heading", { level: 1, name: "Create the first administrator" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Name").fill(ADMIN.name);
  await page.getByLabel("Password", { exact: true }).fill(ADMIN.password);
  await page.getByLabel("Password again").fill("a different password");
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.getByRole("alert")).toHaveText("The two passwords do not match.");
  await page.getByLabel("Password again").fill(ADMIN.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Workflows" })).toBeVisible();
  await expect(page.getByText(`${ADMIN.name} · Administrator With Billing`)).toBeVisible();
  await page.context().storageState({ path: ADMIN_STATE });
});

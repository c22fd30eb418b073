import { expect, type Page } from "@playwright/test";

export const ADMIN = { email: "admin@example.com", name: "E2E Admin", password: "e2e admin password" };
export const ADMIN_STATE = "test-results/.auth/admin.json";

export async function signIn(page: Page, email: string, password: string) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Workflows" })).toBeVisible();
}

/** Waits until the page has hydrated: the navigation toggle is enabled only then. */
export async function hydrated(page: Page) {
  await expect(page.getByRole("button", { name: /navigation/ })).toBeEnabled();
}

// What the browser scripts share: checks on a page and submitting its forms,
// by visible text and button names only (as a person uses the page).

/** The page's text contains `text`. */
export async function expectText(page, text) {
  const body = await page.locator('body').innerText();
  if (!body.includes(text)) throw new Error(`expected 「${text}」 on ${page.url()}`);
}

/** The page shows no refusal (`role=alert`). */
export async function expectNoAlert(page) {
  const alerts = page.locator('[role=alert]');
  if (await alerts.count()) throw new Error(`refused on ${page.url()}: ${await alerts.first().innerText()}`);
}

/** Submit the form that holds the button called `name` (the nth, if several). */
export async function press(page, name, nth = 0) {
  await page.getByRole('button', { name, exact: true }).nth(nth).click();
  await page.waitForLoadState();
  await expectNoAlert(page);
}

// 异地可办 across the three-tier rig (`yiwang federation demo`), in a real
// browser (Debian's Chromium driven by playwright-core). Arguments: the 江苏
// node's base URL, then the 浙江 node's. Through the pages only:
//
// 1. 张三, registered on the 浙江 node, signs in at 江苏 with 浙江省统一身份认证
//    (federated login: 浙江's login page and consent, then back at 江苏).
// 2. At 江苏 he finds 户口迁移（跨省通办）and applies. His 户籍证明 comes from
//    浙江's 人口库 and his 居民身份证 from 浙江's 电子证照库, over the exchange
//    under the grants 江苏 holds: both show as 免提交 with where they came
//    from. He uploads the one material only he has and hands it in.
// 3. 江苏's window clerk finds the case, sees the fetched data's provenance,
//    and accepts it.
// 4. Back at 浙江, 张三 sees 江苏's reads of his data (with the case), and takes
//    his sealed 居民身份证, which 江苏 verifies by asking 浙江's node.
//
// On failure the page's HTML and a screenshot go to $ARTIFACTS and the script exits 1.

import { chromium } from 'playwright-core';
import { expectNoAlert, expectText, press } from './pages.mjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [jiangsu, zhejiang] = process.argv.slice(2);
if (!jiangsu || !zhejiang) {
  console.error('usage: node federation.mjs JIANGSU_URL ZHEJIANG_URL');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifacts = process.env.ARTIFACTS || 'target/browser-artifacts';
const PASSWORD = 'Demo-2026';
const ZHANG_PHONE = '13800000001';
const CLERK = process.env.JIANGSU_CLERK; // 钱一's ID number at 江苏
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
let stepNo = 0;
let current;

async function step(title, fn) {
  stepNo += 1;
  const started = Date.now();
  await fn();
  console.log(`ok ${stepNo} ${title} (${Date.now() - started} ms)`);
}

try {
  const citizen = await browser.newContext({ locale: 'zh-CN' });
  const page = await citizen.newPage();
  current = page;
  await step('张三 signs in at 江苏 through 浙江省统一身份认证', async () => {
    await page.goto(`${jiangsu}/login`);
    await page.getByRole('link', { name: '浙江省统一身份认证' }).click();
    await page.waitForLoadState();
    if (!page.url().startsWith(zhejiang)) throw new Error(`expected 浙江's login page, at ${page.url()}`);
    await page.getByLabel('账号（身份证号、手机号或邮箱）').fill(ZHANG_PHONE);
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForLoadState();
    await expectText(page, '完整身份证号');
    await press(page, '同意授权');
    if (!page.url().startsWith(jiangsu)) throw new Error(`expected to be back at 江苏, at ${page.url()}`);
    const me = await (await page.request.get(`${jiangsu}/api/v1/me`)).json();
    if (me.name !== '张三') throw new Error(`signed in as ${JSON.stringify(me)}`);
  });

  let caseNo;
  await step('finds 户口迁移（跨省通办） at 江苏 and fills the form', async () => {
    await page.goto(`${jiangsu}/`);
    await page.getByLabel('搜索办事事项').fill('户口迁移');
    await page.getByRole('button', { name: '搜索' }).click();
    await page.waitForLoadState();
    await page.getByRole('link', { name: '户口迁移（跨省通办）' }).first().click();
    await page.waitForLoadState();
    await expectText(page, '南京市公安局');
    await page.getByRole('link', { name: '在线申请' }).click();
    await page.waitForLoadState();
    await expectNoAlert(page);
    // What 江苏 does not hold about him; his ID number comes from the federated account.
    await page.getByLabel('申请人姓名').fill('张三');
    await page.getByLabel('联系电话').fill(ZHANG_PHONE);
    await page.getByLabel('通讯地址').fill('南京市建邺区江东中路265号');
    await press(page, '暂存申请，下一步上传材料');
    await expectText(page, '查询码');
    caseNo = (await page.locator('tr', { hasText: '办件编号' }).locator('td').innerText()).trim();
    await page.getByRole('link', { name: '继续：上传材料并提交' }).click();
    await page.waitForLoadState();
  });

  await step('户籍证明 and 居民身份证 come from 浙江 over the exchange; uploads the form and hands it in', async () => {
    await expectText(page, '数据共享免提交');
    await expectText(page, '电子证照免提交');
    // Where they came from: 浙江's node answered, under 江苏's grants.
    await expectText(page, '经节点 CN-TEST/NODE/330000 交换');
    await expectText(page, '人口基本信息');
    await expectText(page, '浙江省电子证照库');
    const label = '上传“户口迁移申请表”（PDF、PNG 或 JPEG，10 MB 以内）';
    await page.getByLabel(label).setInputFiles({ name: '户口迁移申请表.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.locator('form', { has: page.getByLabel(label) }).getByRole('button', { name: '上传', exact: true }).click();
    await page.waitForLoadState();
    await expectNoAlert(page);
    await press(page, '提交申请');
    await expectText(page, '已申请');
  });

  await step("江苏's window sees the provenance and accepts the case", async () => {
    const staff = await browser.newContext({ locale: 'zh-CN' });
    const clerk = await staff.newPage();
    current = clerk;
    await clerk.goto(`${jiangsu}/login`);
    await clerk.getByLabel('账号（身份证号、手机号或邮箱）').fill(CLERK);
    await clerk.getByLabel('密码').fill(PASSWORD);
    await clerk.getByRole('button', { name: '登录' }).click();
    await clerk.waitForLoadState();
    await clerk.goto(`${jiangsu}/console/cases`);
    await clerk.getByRole('link', { name: caseNo }).click();
    await clerk.waitForLoadState();
    await expectText(clerk, '经节点 CN-TEST/NODE/330000 交换');
    await clerk.getByRole('link', { name: '到综合窗口预审、受理' }).click();
    await press(clerk, '开始预审');
    await press(clerk, '受理');
    await expectText(clerk, '已受理');
  });

  await step('at 浙江, 张三 sees 江苏 read his data for the case, and takes his sealed 居民身份证', async () => {
    current = page;
    // His 浙江 session is the one federated login opened there.
    await page.goto(`${zhejiang}/me/data-accesses`);
    await expectText(page, caseNo);
    await expectText(page, 'CN-TEST/GOV/11320100002600026X');
    await page.goto(`${zhejiang}/me/licenses`);
    await page.getByRole('link', { name: '居民身份证' }).first().click();
    await page.waitForLoadState();
    const href = await page.getByRole('link', { name: '下载签章数据（JSON）' }).getAttribute('href');
    const sealed = await (await page.request.get(`${zhejiang}${href}`)).text();
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, 'zhang-id-card.json'), sealed);
    // 江苏's public verification API asks 浙江's node, which sealed it.
    const verdict = await (await page.request.post(`${jiangsu}/api/v1/licenses/verify`, { data: JSON.parse(sealed) })).json();
    if (!verdict.ok || verdict.verified_by !== 'CN-TEST/NODE/330000') throw new Error(`verdict at 江苏: ${JSON.stringify(verdict)}`);
  });

  console.log(`federation: all ${stepNo} steps passed (case ${caseNo})`);
  await browser.close();
} catch (e) {
  mkdirSync(artifacts, { recursive: true });
  if (current) {
    writeFileSync(join(artifacts, 'federation-failure.html'), await current.content());
    await current.screenshot({ path: join(artifacts, 'federation-failure.png'), fullPage: true });
  }
  console.error(`not ok ${stepNo + 1}: ${e.stack || e}`);
  await browser.close();
  process.exit(1);
}

// The golden path of design.md §3, steps 1–6, in a real browser (Debian's
// Chromium driven by playwright-core), against a demo node whose base URL is
// the first argument. Every step is done through the pages, as the people
// who use them would: by their labels and buttons, without JavaScript of our
// own. On failure the page's HTML and a screenshot are written to
// $ARTIFACTS (default: target/browser-artifacts) and the script exits 1.
//
// 1. The catalog editor changes 食品经营许可's promised limit; the catalog
//    reviewer publishes it.
// 2. The enterprise's agent logs in once, searches, reads the guide and
//    applies: the form is prefilled from the legal-entity base data and the
//    营业执照 is attached from the license library (免提交).
// 3. The window pre-reviews and gives the one consolidated correction notice;
//    the applicant corrects.
// 4. The window accepts; the promised date is counted in working days.
// 5. The item's BPMN process decides the steps: 审查; an exclusive gateway on
//    the form sends a 餐饮服务经营者 to 现场核查 (with a special procedure that
//    stops the clock); the tax bureau countersigns in parallel (会签, a
//    multi-instance task over the agencies the model names); the head decides
//    and concludes.
// 6. 办结 issued the sealed 食品经营许可证: the applicant finds it from the
//    case page in the wallet, and its QR code (read back with zbarimg) opens
//    the public verification page, which finds it genuine and valid.

import { chromium } from 'playwright-core';
import { expectNoAlert, expectText, press } from './pages.mjs';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const base = process.argv[2];
if (!base) {
  console.error('usage: node golden_path.mjs http://127.0.0.1:PORT');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifacts = process.env.ARTIFACTS || 'target/browser-artifacts';
const PASSWORD = 'Demo-2026';
const ID = {
  editor: '330102198001010042', // 吴四, 杭州市市场监督管理局 事项编辑
  catalogReviewer: '330102198001010050', // 郑五, 省政务办 事项审核
  agent: '33010619950404456X', // 赵六, 杭州一网餐饮有限公司 经办人
  clerk: '330102198001010018', // 钱一, 市民中心 综合窗口
  reviewer: '330102198001010026', // 孙二, 市场监管 业务审查
  head: '330102198001010034', // 周三, 市场监管 部门负责人
  tax: '330102198001010106', // 蒋十, 税务 (会签)
};
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
const scan = (name) => ({ name, mimeType: 'application/pdf', buffer: PDF });

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
let stepNo = 0;

async function step(title, fn) {
  stepNo += 1;
  const started = Date.now();
  await fn();
  console.log(`ok ${stepNo} ${title} (${Date.now() - started} ms)`);
}

/** A new browser profile logged in as `id` (one login: the session cookie). */
async function login(id) {
  // A phone-like pixel density, so a QR code on the page reads like one on a screen.
  const context = await browser.newContext({ locale: 'zh-CN', deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel('账号（身份证号、手机号或邮箱）').fill(id);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForLoadState();
  const cookies = await context.cookies();
  if (!cookies.some((c) => c.name === 'yiwang_session')) throw new Error(`login of ${id} failed: ${await page.content()}`);
  return page;
}

try {
  let itemUrl;
  await step('the editor changes the promised limit and submits the version', async () => {
    const page = await login(ID.editor);
    await page.goto(`${base}/console/catalog`);
    await page.getByRole('link', { name: '食品经营许可', exact: true }).first().click();
    itemUrl = page.url();
    await page.getByRole('link', { name: '编辑' }).click();
    await page.getByLabel('承诺办结时限（工作日，0为即办）').fill('4');
    await press(page, '保存草稿');
    await page.goto(itemUrl);
    await page.getByLabel('提交审核：意见或原因').fill('承诺时限压缩为4个工作日');
    await press(page, '提交审核');
    await expectText(page, '已提交审核');
  });
  await step('the catalog reviewer publishes it', async () => {
    const page = await login(ID.catalogReviewer);
    await page.goto(itemUrl);
    await press(page, '审核通过并发布');
    await expectText(page, '已发布');
  });

  let caseNo;
  let agent;
  await step('the agent logs in once and acts for the enterprise', async () => {
    agent = await login(ID.agent);
    await agent.goto(`${base}/account`);
    await agent.getByLabel('以何种身份办事').selectOption({ label: '杭州一网餐饮有限公司（经办人）' });
    await press(agent, '切换');
  });
  await step('searches, reads the guide with the new limit, and opens the form', async () => {
    await agent.goto(`${base}/`);
    await agent.getByLabel('搜索办事事项').fill('食品经营许可');
    await agent.getByRole('button', { name: '搜索' }).click();
    await agent.waitForLoadState();
    const hit = agent.locator('li', { hasText: '杭州市市场监督管理局' }).filter({ hasText: '食品经营许可' }).first();
    await hit.getByRole('link', { name: '食品经营许可' }).click();
    await expectText(agent, '4个工作日');
    await agent.getByRole('link', { name: '在线申请' }).click();
    await agent.waitForLoadState();
    // Prefilled from the legal-entity base data, and locked.
    const name = agent.getByLabel('单位名称');
    if ((await name.inputValue()) !== '杭州一网餐饮有限公司' || !(await name.getAttribute('readonly') !== null)) {
      throw new Error('单位名称 is not prefilled and locked');
    }
    await expectText(agent, '来自法人基础信息库');
  });
  await step('fills what is not held and saves the draft', async () => {
    await agent.getByLabel('联系电话').fill('13800000004');
    await agent.getByLabel('经营场所').fill('杭州市上城区解放东路18号');
    await agent.getByLabel('主体业态').selectOption('餐饮服务经营者');
    await agent.getByLabel('经营项目').fill('热食类食品制售');
    await press(agent, '暂存申请，下一步上传材料');
    await expectText(agent, '查询码');
    caseNo = (await agent.locator('tr', { hasText: '办件编号' }).locator('td').innerText()).trim();
    await agent.getByRole('link', { name: '继续：上传材料并提交' }).click();
    await agent.waitForLoadState();
  });
  await step('营业执照 comes from the license library; uploads the rest, signs a commitment, submits', async () => {
    await expectText(agent, '电子证照免提交');
    for (const material of ['食品经营许可申请书', '与食品经营相适应的主要设备设施布局、操作流程等文件']) {
      await agent.getByLabel(`上传“${material}”（PDF、PNG 或 JPEG，10 MB 以内）`).setInputFiles(scan(`${material}.pdf`));
      await agent.locator('form', { has: agent.getByLabel(`上传“${material}”（PDF、PNG 或 JPEG，10 MB 以内）`) }).getByRole('button', { name: '上传', exact: true }).click();
      await agent.waitForLoadState();
      await expectNoAlert(agent);
    }
    await agent.getByText('以告知承诺代替此材料').click();
    await press(agent, '我已阅读并签署承诺');
    await press(agent, '提交申请');
    await expectText(agent, '已申请');
  });

  let clerk;
  await step('the window pre-reviews and gives the one-time correction notice', async () => {
    clerk = await login(ID.clerk);
    await clerk.goto(`${base}/console/cases`);
    await clerk.getByRole('link', { name: caseNo }).click();
    await clerk.getByRole('link', { name: '到综合窗口预审、受理' }).click();
    await press(clerk, '开始预审');
    await clerk.getByLabel('一次性告知：需补齐补正的材料（每行一项）').fill('场所平面图（须标明加工区域）');
    await press(clerk, '出具补齐补正告知书');
    await expectText(clerk, '待补齐补正');
  });
  await step('the applicant sees the list, uploads the correction and hands it in', async () => {
    await agent.goto(`${base}/me/cases/${caseNo}`);
    await expectText(agent, '场所平面图（须标明加工区域）');
    const label = '上传“与食品经营相适应的主要设备设施布局、操作流程等文件”（PDF、PNG 或 JPEG，10 MB 以内）';
    await agent.getByLabel(label).setInputFiles(scan('场所平面图.pdf'));
    await agent.locator('form', { has: agent.getByLabel(label) }).getByRole('button', { name: '上传', exact: true }).click();
    await agent.waitForLoadState();
    await expectNoAlert(agent);
    await press(agent, '提交补正');
    await expectText(agent, '已补齐补正');
  });
  await step('the window accepts; the promised date is in working days', async () => {
    await clerk.goto(`${base}/console/window/cases/${caseNo}`);
    await press(clerk, '受理');
    await expectText(clerk, '已受理');
    // The date shown is today (China Standard Time) plus the item's 4 working days on the node calendar.
    const shown = (await clerk.locator('tr', { hasText: '承诺办结日' }).locator('td').innerText()).trim();
    const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
    const expected = await (await fetch(`${base}/api/v1/calendar/add-workdays?start=${today}&n=4`)).json();
    if (shown !== expected.due) throw new Error(`promised date ${shown}, expected ${expected.due}`);
  });

  let reviewer;
  await step('the reviewer claims the case and passes 审查, the first step of its process', async () => {
    reviewer = await login(ID.reviewer);
    await reviewer.goto(`${base}/console/cases?state=accepted`);
    await reviewer.getByRole('link', { name: caseNo }).click();
    await press(reviewer, '认领');
    await expectText(reviewer, '办理流程：食品经营许可（审查→现场核查→税务会签→决定）');
    await reviewer.getByLabel('待办环节（由办理流程确定）').selectOption('审查');
    await press(reviewer, '开始办理环节');
    await expectText(reviewer, '办理中');
    await reviewer.getByLabel('“审查”环节意见').fill('材料齐全');
    await press(reviewer, '通过');
  });
  await step('the gateway sends a 餐饮服务经营者 to 现场核查; a special procedure stops the clock', async () => {
    await reviewer.getByLabel('待办环节（由办理流程确定）').selectOption('现场核查');
    await press(reviewer, '开始办理环节');
    await reviewer.getByLabel('启动理由或依据').fill('核实经营场所与布局图是否一致');
    await press(reviewer, '启动特别程序');
    await expectText(reviewer, '特别程序');
    await reviewer.getByLabel('特别程序结果').fill('场所与申报一致');
    await press(reviewer, '结束特别程序');
    await reviewer.getByLabel('“现场核查”环节意见').fill('现场核查通过');
    await press(reviewer, '通过');
  });
  await step('the process asks the tax bureau to countersign (会签); it signs; the step passes', async () => {
    await reviewer.getByLabel('待办环节（由办理流程确定）').selectOption('会签');
    await press(reviewer, '开始办理环节');
    await expectText(reviewer, '由办理流程指定的部门并联会签：国家税务总局杭州市税务局');
    await press(reviewer, '发起会签');
    const tax = await login(ID.tax);
    await tax.goto(`${base}/console/cases`);
    await expectText(tax, '待我会签');
    await tax.getByRole('link', { name: caseNo }).first().click();
    await tax.getByLabel('意见', { exact: true }).fill('无欠税记录，同意');
    await press(tax, '提交会签意见');
    await reviewer.goto(`${base}/console/cases/${caseNo}`);
    await reviewer.getByLabel('“会签”环节意见').fill('会签意见已收齐');
    await press(reviewer, '通过');
    await expectText(reviewer, '决定（作出决定）');
  });
  await step('the head decides and concludes', async () => {
    const head = await login(ID.head);
    await head.goto(`${base}/console/cases/${caseNo}`);
    await head.getByLabel('决定理由').fill('经审查符合条件');
    await press(head, '作出决定');
    await press(head, '办结');
    await expectText(head, '已办结');
  });
  await step('the applicant sees the whole record and the e-license it issued', async () => {
    await agent.goto(`${base}/me/cases/${caseNo}`);
    await expectText(agent, '已办结');
    await expectText(agent, '场所与申报一致');
    await agent.locator('ul[aria-labelledby=results] a').first().click();
    await agent.waitForLoadState();
    await expectText(agent, '餐饮服务经营者');
    await expectText(agent, '热食类食品制售');
  });
  await step('the license in the wallet verifies by its QR code', async () => {
    mkdirSync(artifacts, { recursive: true });
    const png = join(artifacts, 'license-qr.png');
    // The code with a white quiet zone around it, as a phone's camera sees it.
    const qr = agent.getByRole('img', { name: '核验二维码：扫码打开核验页面' });
    await qr.scrollIntoViewIfNeeded();
    const box = await qr.boundingBox();
    await agent.screenshot({ path: png, clip: { x: box.x - 24, y: box.y - 24, width: box.width + 48, height: box.height + 48 } });
    const scanned = execFileSync('zbarimg', ['--raw', '-q', png]).toString().trim();
    const url = new URL(scanned);
    if (url.pathname !== '/licenses/verify' || !url.searchParams.get('token')?.startsWith('YL1.')) {
      throw new Error(`the QR code holds ${scanned}`);
    }
    // Anyone who scans it (no login) sees the seal and the status checked.
    const context = await browser.newContext({ locale: 'zh-CN' });
    const verifier = await context.newPage();
    await verifier.goto(`${base}${url.pathname}${url.search}`);
    await expectText(verifier, '证照真实有效');
    await expectText(verifier, '食品经营许可证');
  });
  console.log(`golden path: all ${stepNo} steps passed (case ${caseNo})`);
} catch (e) {
  console.error(`not ok ${stepNo}: ${e.message}`);
  {
    mkdirSync(artifacts, { recursive: true });
    for (const context of browser.contexts()) {
      for (const [i, page] of context.pages().entries()) {
        const name = join(artifacts, `failure-${browser.contexts().indexOf(context)}-${i}`);
        try {
          writeFileSync(`${name}.html`, await page.content());
          await page.screenshot({ path: `${name}.png`, fullPage: true });
        } catch {
          // A page that cannot be captured is left out.
        }
      }
    }
    console.error(`pages saved under ${artifacts}`);
  }
  await browser.close();
  process.exit(1);
}
await browser.close();

// 电子监察 in a real browser (issue 22): a case the window accepted runs
// late on a node whose clock moves forward (libfaketime, through the file
// this script writes), so 提示 and then 黄牌 appear on the supervisor's
// console; the supervisor issues a 督办单, the agency's head is told,
// acknowledges and reports, the supervisor returns it once, verifies and
// closes it; the public page counts it. Every page is checked with axe-core: no serious or critical
// violation.
//
// Then the applicant of an online case (RATED_CASE) rates its 受理 不满意; the
// agency's head verifies, rectifies and feeds back, the applicant reads the
// feedback, the head records the 回访; the public page counts all of it.
//
// usage: node supervision.mjs BASE CASE_NO WARN_DAYS LATE_DAYS OFFSET_FILE RATED_CASE

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { expectNoAlert, expectText, press } from './pages.mjs';

const [base, caseNo, warnDays, lateDays, offsetFile, ratedCase] = process.argv.slice(2);
if (!ratedCase) {
  console.error('usage: node supervision.mjs BASE CASE_NO WARN_DAYS LATE_DAYS OFFSET_FILE RATED_CASE');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'Demo-2026';
const ID = {
  supervisor: '330102198001010069', // 冯六, 浙江省政务服务管理办公室 电子监察
  head: '330102198001010034', // 周三, 杭州市市场监督管理局 部门负责人
  agent: '33010619950404456X', // 赵六, 杭州一网餐饮有限公司 经办人
  clerk: '330102198001010018', // 钱一, 杭州市市场监督管理局 窗口人员
};
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
let stepNo = 0;
let axeChecked = 0;

async function step(title, fn) {
  stepNo += 1;
  const started = Date.now();
  await fn();
  console.log(`ok ${stepNo} ${title} (${Date.now() - started} ms)`);
}

/** axe-core over the page as it is: no serious or critical violation. */
async function accessible(page) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const lines = bad.map((v) => `${v.id} (${v.impact}): ${v.help} @ ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    throw new Error(`axe on ${page.url()}:\n${lines.join('\n')}`);
  }
  axeChecked += 1;
}

/** A browser profile for `id`, logged in (again, after the clock moved, when the session lapsed). */
async function session(id) {
  // bypassCSP only lets the test inject axe-core; the node's policy stays as served.
  const context = await browser.newContext({ locale: 'zh-CN', bypassCSP: true });
  const page = await context.newPage();
  page.login = async () => {
    await page.goto(`${base}/login`);
    await page.getByLabel('账号（身份证号、手机号或邮箱）').fill(id);
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForLoadState();
  };
  page.open = async (path) => {
    await page.goto(`${base}${path}`);
    if (new URL(page.url()).pathname === '/login') {
      await page.login();
      await page.goto(`${base}${path}`);
    }
    await expectNoAlert(page);
  };
  await page.login();
  return page;
}

/** Move the node's clock `days` days ahead of the real one. */
function clockAhead(days) {
  writeFileSync(offsetFile, `+${days}d\n`);
}

/** The console rows of this case at `level`, polled until there is one. */
async function waitForAlert(page, level, label) {
  const deadline = Date.now() + 30000;
  for (;;) {
    await page.open('/console/supervision');
    const rows = page.locator(`tr[data-level="${level}"]`, { hasText: caseNo });
    if (await rows.count()) return rows.first();
    if (Date.now() > deadline) throw new Error(`no ${label} for ${caseNo} on the console:\n${await page.locator('main').innerText()}`);
    await page.waitForTimeout(500);
  }
}

try {
  const supervisor = await session(ID.supervisor);
  await step('before any limit, the case raises nothing', async () => {
    await supervisor.open('/console/supervision');
    await expectText(supervisor, '预警分布');
    const rows = await supervisor.locator('tr', { hasText: caseNo }).count();
    if (rows) throw new Error(`${caseNo} has alerts already`);
    await accessible(supervisor);
  });

  await step(`${warnDays} days on, the working day before the promised date: 提示`, async () => {
    clockAhead(warnDays);
    const row = await waitForAlert(supervisor, 'notice', '提示');
    await expectText(supervisor, '临近');
    if (!(await row.innerText()).includes('时效异常')) throw new Error('提示 is not 时效异常');
    if (await supervisor.locator('tr[data-level="yellow"]', { hasText: caseNo }).count()) throw new Error('黄牌 before the promised date');
  });

  await step(`${lateDays} days on, the promised date passed: 黄牌`, async () => {
    clockAhead(lateDays);
    const row = await waitForAlert(supervisor, 'yellow', '黄牌');
    if (!(await row.innerText()).includes('已超过承诺办结日')) throw new Error(`黄牌 row: ${await row.innerText()}`);
    // The counts table reads the same: at least one 黄牌 of 时效异常.
    const counts = supervisor.getByRole('row', { name: /时效异常/ });
    const cells = await counts.locator('td').allInnerTexts();
    if (!(Number(cells[1]) >= 1)) throw new Error(`时效异常 counts: ${cells}`);
    await accessible(supervisor);
  });

  let orderUrl;
  await step('the supervisor issues a 督办单 on the 黄牌', async () => {
    const row = supervisor.locator('tr[data-level="yellow"]', { hasText: caseNo }).first();
    await row.getByRole('link', { name: /下发督办单/ }).click();
    await supervisor.waitForLoadState();
    await expectText(supervisor, '已超过承诺办结日');
    await accessible(supervisor);
    // A deadline outside 1–60 working days is refused, and nothing is issued.
    await supervisor.getByLabel('督办内容').fill('请说明超期原因，并于期限内办结该件');
    await supervisor.getByLabel('整改反馈期限（工作日）').fill('0');
    await supervisor.getByRole('button', { name: '下发督办单' }).click();
    await supervisor.waitForLoadState();
    await expectText(supervisor, '整改期限须为 1 至 60 个工作日');
    await supervisor.getByLabel('整改反馈期限（工作日）').fill('3');
    await press(supervisor, '下发督办单');
    orderUrl = new URL(supervisor.url()).pathname;
    if (!orderUrl.startsWith('/console/supervision/orders/DB')) throw new Error(`not on the order: ${supervisor.url()}`);
    await expectText(supervisor, '已下发');
    await expectText(supervisor, '请说明超期原因');
    await accessible(supervisor);
  });

  const head = await session(ID.head);
  await step('the agency head is told, acknowledges and reports the rectification', async () => {
    await head.open('/me/messages');
    await expectText(head, '督办通知（黄牌）');
    await accessible(head);
    // The notice leads to the console, where the order is listed.
    await head.getByRole('link', { name: `电子监察 · 办件 ${caseNo}` }).first().click();
    await head.waitForLoadState();
    await head.getByRole('link', { name: orderUrl.split('/').pop() }).first().click();
    await head.waitForLoadState();
    await accessible(head);
    // The supervising side's steps are not offered to the agency.
    if (await head.getByRole('button', { name: '办结督办单' }).count()) throw new Error('the head is offered the close');
    await press(head, '签收');
    await expectText(head, '已签收');
    await head.getByLabel('提交整改情况：说明').fill('该件已于今日办结；已对承办人员进行提醒谈话');
    await press(head, '提交整改情况');
    await expectText(head, '已整改待核查');
  });

  await step('the supervisor returns it once, the head reports again', async () => {
    await supervisor.open(orderUrl);
    await expectText(supervisor, '该件已于今日办结');
    await supervisor.getByLabel('退回重新整改：说明').fill('请附谈话记录');
    await press(supervisor, '退回重新整改');
    await expectText(supervisor, '已签收');
    await head.open('/me/messages');
    await expectText(head, '督办单退回重新整改');
    await head.open(orderUrl);
    await head.getByLabel('提交整改情况：说明').fill('已补附谈话记录');
    await press(head, '提交整改情况');
  });

  await step('the supervisor verifies and closes the order', async () => {
    await supervisor.open(orderUrl);
    await press(supervisor, '核查通过');
    await expectText(supervisor, '已核查');
    await press(supervisor, '办结督办单');
    await expectText(supervisor, '已办结');
    for (const what of ['下发督办单', '签收', '整改反馈', '退回重新整改', '核查通过', '办结']) await expectText(supervisor, what);
    await accessible(supervisor);
    await supervisor.open('/console/supervision');
    const order = supervisor.getByRole('table', { name: '督办单' }).getByRole('row', { name: new RegExp(orderUrl.split('/').pop()) });
    if (!(await order.innerText()).includes('已办结')) throw new Error(`order row: ${await order.innerText()}`);
  });

  const agent = await session(ID.agent);
  await step('the applicant rates the acceptance of his online case 不满意, with reasons', async () => {
    await agent.open('/account');
    await agent.getByLabel('以何种身份办事').selectOption({ label: '杭州一网餐饮有限公司（经办人）' });
    await press(agent, '切换');
    await agent.open(`/me/cases/${ratedCase}`);
    await expectText(agent, '您对本次受理服务是否满意');
    await accessible(agent);
    await agent.getByLabel('不满意', { exact: true }).check();
    await agent.getByLabel('要求重复提交材料').check();
    await agent.getByLabel('意见和建议（可不填，500 字以内）').fill('营业执照已有电子证照，窗口仍要求提供复印件');
    await press(agent, '提交评价');
    await expectText(agent, '感谢您的评价');
    await expectText(agent, '您对受理的评价：不满意');
  });

  let ratingUrl;
  await step('the agency head verifies it, rectifies and feeds back within the limit', async () => {
    await head.open('/console/ratings');
    await accessible(head);
    await head.getByRole('link', { name: ratedCase }).click();
    await head.waitForLoadState();
    ratingUrl = new URL(head.url()).pathname;
    await expectText(head, '要求重复提交材料');
    await expectText(head, '待核实');
    await head.getByLabel(/限期整改/).check();
    await head.getByLabel('核实并分类处理：说明').fill('经核实，窗口确有要求重复提交');
    await press(head, '核实并分类处理');
    await expectText(head, '整改中');
    await head.getByLabel('整改完成：说明').fill('已通知窗口：持有电子证照的材料一律免提交');
    await press(head, '整改完成');
    await head.getByLabel('反馈评价人：说明').fill('已整改：今后营业执照以电子证照核验，无需再交复印件');
    await press(head, '反馈评价人');
    await expectText(head, '待回访');
    await accessible(head);
  });

  await step('the applicant reads the feedback in 消息', async () => {
    await agent.open('/me/messages');
    await expectText(agent, '差评整改反馈');
    await expectText(agent, '今后营业执照以电子证照核验');
  });

  await step('the head records the 回访 and the loop is closed', async () => {
    await head.open(ratingUrl);
    await head.getByLabel('回访满意度').selectOption({ label: '满意' });
    await press(head, '记录回访');
    await expectText(head, '已办结');
    await accessible(head);
  });

  await step('the leaders\' statistics chart the month with its figures in a table', async () => {
    await head.open('/console/statistics');
    await expectText(head, '按月统计');
    // Four monthly charts, then applications and 按时办结率 by agency and the top items.
    if ((await head.locator('svg[role=img]').count()) !== 7) throw new Error('seven charts expected');
    const month = ratedCase.slice(18, 24);
    const row = head.getByRole('row', { name: new RegExp(`^${month.slice(0, 4)}年${Number(month.slice(4))}月`) });
    const cells = await row.locator('td').allInnerTexts();
    if (!(Number(cells[0]) >= 2 && cells[3] === '1' && cells[4] === '0.0%')) throw new Error(`the month: ${cells}`);
    // This year by agency: the head's agency, its cases and the one rating.
    const agency = head.getByRole('table', { name: '按部门统计' }).getByRole('row', { name: /杭州市市场监督管理局/ });
    const figures = await agency.locator('td').allInnerTexts();
    if (!(Number(figures[0]) >= 2 && figures[4] === '1' && figures[5] === '0.0%')) throw new Error(`by agency: ${figures}`);
    await accessible(head);
  });

  await step('the five evaluation indicators score the agency, with a chart, tables and a PDF', async () => {
    await head.open('/console/indicators');
    await expectText(head, '指标口径与总体分项');
    if ((await head.locator('svg[role=img] title', { hasText: '五个维度得分' }).count()) !== 1) throw new Error('the dimensions chart');
    const agency = head.getByRole('table', { name: '按部门' }).getByRole('row', { name: /杭州市市场监督管理局/ });
    const scores = await agency.locator('td').allInnerTexts();
    // Five dimensions, the total and its grade.
    if (scores.length !== 7 || !scores.slice(0, 6).every((s) => s === '—' || /^\d+(\.\d)?\*?$/.test(s))) throw new Error(`scores: ${scores}`);
    const pdf = await head.request.get(`${base}/api/v1/indicators/report.pdf`);
    if (pdf.status() !== 200 || pdf.headers()['content-type'] !== 'application/pdf') throw new Error(`pdf: ${pdf.status()}`);
    await accessible(head);
  });

  await step('the public page counts the late case, the order closed on time and the rating, and names no case', async () => {
    const visitor = await (await browser.newContext({ locale: 'zh-CN', bypassCSP: true })).newPage();
    const year = caseNo.slice(18, 22);
    await visitor.goto(`${base}/supervision/public?year=${year}`);
    await expectNoAlert(visitor);
    await expectText(visitor, '政务服务监察结果公开');
    const row = visitor.getByRole('table', { name: '按部门' }).getByRole('row', { name: /杭州市市场监督管理局/ });
    const cells = await row.locator('td').allInnerTexts();
    // 受理, 办结, 办结率, 按时办结率, 超期件数, 督办办结, 督办按期办结率
    // … 评价数, 好评率 (one 不满意: 0.0%).
    if (!(Number(cells[0]) >= 2 && Number(cells[4]) >= 1 && cells[5] === '1' && cells[6] === '100.0%' && cells[7] === '1' && cells[8] === '0.0%')) {
      throw new Error(`杭州市市场监督管理局: ${cells}`);
    }
    const text = await visitor.locator('main').innerText();
    if (text.includes(caseNo) || text.includes(ratedCase) || text.includes('杭州一网餐饮')) throw new Error('the public page names a case or an applicant');
    await accessible(visitor);
  });

  await step('at the window, the applicant rates the acceptance on the tablet the clerk turns to them', async () => {
    const clerk = await session(ID.clerk);
    await clerk.open(`/console/cases/${caseNo}`);
    await press(clerk, '平板评价受理');
    await clerk.waitForURL(/\/rate\//);
    await expectText(clerk, '请对本次受理服务进行评价');
    await accessible(clerk);
    await clerk.getByLabel('满意', { exact: true }).check();
    await clerk.getByLabel('服务态度热情').check();
    await press(clerk, '提交评价');
    await expectText(clerk, '感谢您的评价');
    // The link is used: opening it again says so.
    await clerk.reload();
    await expectText(clerk, '此评价已提交');
  });

  console.log(`supervision: all ${stepNo} steps passed, axe on ${axeChecked} pages (case ${caseNo})`);
} finally {
  await browser.close();
}

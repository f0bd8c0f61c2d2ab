'use strict';
// The client against a real Miniplex (and the fake WeChat behind it). tests/test_miniprogram_client.py starts both
// and runs this file with MINIPLEX_TEST_URL and MINIPLEX_TEST_APP_IDS ("<AppID A>,<AppID B>") set.
const test = require('node:test');
const assert = require('node:assert/strict');

const { createClient, ApiError, DEFAULT_TOKEN_KEY } = require('..');
const { fetchWx } = require('../support/stub-wx');

const BASE = process.env.MINIPLEX_TEST_URL;
const [APP_A, APP_B] = (process.env.MINIPLEX_TEST_APP_IDS || '').split(',');
if (!BASE || !APP_A || !APP_B) throw new Error('set MINIPLEX_TEST_URL and MINIPLEX_TEST_APP_IDS=<A>,<B>');

function clientOf(appId, person) {
  const wx = fetchWx({ appId, person });
  return { wx, api: createClient({ baseUrl: BASE, wx }) };
}

test('the server answers ping with the AppID the client sent', async () => {
  const { api } = clientOf(APP_A, 'ping');
  assert.deepEqual(await api.get('/api/v1/ping', { auth: false }), { app_id: APP_A });
});

test('the same person is a different user in each mini-program', async () => {
  const a = clientOf(APP_A, 'li');
  const b = clientOf(APP_B, 'li');
  const [meA, meB] = [await a.api.get('/api/v1/me'), await b.api.get('/api/v1/me')];
  assert.notEqual(meA.openid, meB.openid);
  assert.equal(a.wx.getStorageSync(DEFAULT_TOKEN_KEY).length > 20, true);
});

test("a token of another mini-program is a 401, and the client logs in again and goes on", async () => {
  const a = clientOf(APP_A, 'wang');
  await a.api.get('/api/v1/me');
  const b = clientOf(APP_B, 'wang');
  b.wx.setStorageSync(DEFAULT_TOKEN_KEY, a.wx.getStorageSync(DEFAULT_TOKEN_KEY)); // A's token, sent under B
  const me = await b.api.get('/api/v1/me');
  assert.equal(b.wx.logins, 1);
  assert.notEqual(b.wx.getStorageSync(DEFAULT_TOKEN_KEY), a.wx.getStorageSync(DEFAULT_TOKEN_KEY));
  assert.match(me.openid, /^openid-wang-/);
});

test('an invalid body is an ApiError with code invalid and the fields', async () => {
  const { api } = clientOf(APP_A, 'zhao');
  const error = await api.patch('/api/v1/me', { nickname: 5 }).catch((caught) => caught);
  assert.ok(error instanceof ApiError);
  assert.deepEqual([error.status, error.code], [400, 'invalid']);
  assert.ok(error.fields.nickname);
  const saved = await api.patch('/api/v1/me', { nickname: '小赵' });
  assert.equal(saved.nickname, '小赵');
});

test('an unknown AppID is the ApiError tenant_not_found', async () => {
  const { api } = clientOf('wx0000000000000fff', 'nobody');
  const error = await api.get('/api/v1/ping', { auth: false }).catch((caught) => caught);
  assert.deepEqual([error.status, error.code], [404, 'tenant_not_found']);
});

test('logout revokes the token on the server', async () => {
  const { wx, api } = clientOf(APP_A, 'sun');
  await api.get('/api/v1/me');
  const token = wx.getStorageSync(DEFAULT_TOKEN_KEY);
  await api.logout();
  const answer = await fetch(`${BASE}/api/v1/me`, { headers: { 'X-AppID': APP_A, Authorization: `Bearer ${token}` } });
  assert.equal(answer.status, 401);
});

// The example app (checkin) and WeChat Pay: the pytest side installs a reward and a merchant for tenant A and names
// the reward in MINIPLEX_TEST_REWARD; without checkin installed these two are not run.
const REWARD = process.env.MINIPLEX_TEST_REWARD;

test('the example app: a check-in once a day, under each mini-program', { skip: !REWARD }, async () => {
  for (const appId of [APP_A, APP_B]) {
    const { api } = clientOf(appId, 'zhou');
    const first = await api.post('/api/v1/checkin/checkins');
    assert.equal(first.member.checkins, 1);
    const again = await api.post('/api/v1/checkin/checkins').catch((caught) => caught);
    assert.deepEqual([again.status, again.code], [409, 'already_checked_in']);
  }
});

test("a reward bought, prepaid by the server and handed to wx.requestPayment", { skip: !REWARD }, async () => {
  const { wx, api } = clientOf(APP_A, 'qian');
  const bought = await api.post(`/api/v1/checkin/rewards/${REWARD}/purchase`);
  const paid = await api.pay(bought.order_id);
  assert.equal(paid.errMsg, 'requestPayment:ok');
  const [fields] = wx.payments;
  assert.match(fields.package, /^prepay_id=/);
  assert.equal(fields.signType, 'RSA');
  assert.ok(fields.paySign.length > 100 && /^\d+$/.test(fields.timeStamp) && fields.nonceStr);
  const elsewhere = await clientOf(APP_B, 'qian').api.pay(bought.order_id).catch((caught) => caught);
  assert.deepEqual([elsewhere.status, elsewhere.code], [404, 'order_not_found']); // B's database has no such order
});

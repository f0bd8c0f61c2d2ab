'use strict';
// The client against a stub wx: no network. Run: node --test clients/miniprogram/test/
const test = require('node:test');
const assert = require('node:assert/strict');

const { createClient, ApiError, PaymentError, DEFAULT_TOKEN_KEY } = require('..');
const { stubWx } = require('../support/stub-wx');

const APP_ID = 'wx00000000000000a1';
const BASE = 'https://api.example.test';

/** A tiny server: login hands out token-<n>; /api/v1/me needs the newest token. */
function fakeServer() {
  const state = { issued: 0, valid: new Set() };
  state.handler = ({ method, url, header, data }) => {
    const path = url.slice(BASE.length);
    if (method === 'POST' && path === '/api/v1/auth/login') {
      state.issued += 1;
      const token = `token-${state.issued}`;
      state.valid.add(token);
      return { statusCode: 200, data: { token, user: { id: 1, code: data.code } } };
    }
    const token = (header.Authorization || '').replace(/^Bearer /, '');
    if (!state.valid.has(token)) {
      return { statusCode: 401, data: { error: { code: 'not_authenticated', message: 'Log in.' } } };
    }
    if (path === '/api/v1/me' && method === 'GET') return { statusCode: 200, data: { id: 1, token } };
    if (path === '/api/v1/me' && method === 'PATCH') {
      return { statusCode: 400, data: { error: { code: 'invalid', message: 'Bad.', fields: { nickname: ['Too long.'] } } } };
    }
    if (path === '/api/v1/auth/logout') {
      state.valid.delete(token);
      return { statusCode: 204, data: '' };
    }
    if (path === '/api/v1/pay/orders/7/prepay') {
      return {
        statusCode: 200,
        data: { timeStamp: '1700000000', nonceStr: 'n0nce', package: 'prepay_id=wx123', signType: 'RSA', paySign: 'c2ln' },
      };
    }
    if (path === '/api/v1/broken') return { statusCode: 502, data: '<html>Bad Gateway</html>' };
    return { statusCode: 404, data: { error: { code: 'not_found', message: 'No such path.' } } };
  };
  return state;
}

function setUp() {
  const server = fakeServer();
  const wx = stubWx({ appId: APP_ID, handler: server.handler });
  return { server, wx, api: createClient({ baseUrl: `${BASE}/`, wx }) };
}

test('every request carries X-AppID from wx.getAccountInfoSync and JSON', async () => {
  const { wx, api } = setUp();
  await api.get('/api/v1/me');
  assert.equal(api.appId, APP_ID);
  for (const sent of wx.requests) {
    assert.equal(sent.header['X-AppID'], APP_ID);
    assert.equal(sent.header['Content-Type'], 'application/json');
    assert.ok(sent.url.startsWith(`${BASE}/api/v1/`), sent.url); // the trailing slash of baseUrl is dropped
  }
});

test('the first request logs in with wx.login and keeps the token in storage', async () => {
  const { wx, api } = setUp();
  const me = await api.get('/api/v1/me');
  assert.deepEqual(me, { id: 1, token: 'token-1' });
  assert.equal(wx.getStorageSync(DEFAULT_TOKEN_KEY), 'token-1');
  assert.deepEqual(
    wx.requests.map((sent) => `${sent.method} ${sent.url.slice(BASE.length)}`),
    ['POST /api/v1/auth/login', 'GET /api/v1/me']
  );
  assert.equal(wx.requests[0].data.code, 'code-alice~1');
  assert.equal(wx.requests[0].header.Authorization, undefined);
  assert.equal(wx.requests[1].header.Authorization, 'Bearer token-1');
  await api.get('/api/v1/me');
  assert.equal(wx.logins, 1); // the stored token is used again
});

test('a 401 logs in again and retries once', async () => {
  const { server, wx, api } = setUp();
  await api.get('/api/v1/me');
  server.valid.clear(); // the server forgot every token (expired, revoked)
  const me = await api.get('/api/v1/me');
  assert.equal(me.token, 'token-2');
  assert.equal(wx.getStorageSync(DEFAULT_TOKEN_KEY), 'token-2');
  assert.equal(wx.logins, 2);
});

test('a 401 after logging in again is an ApiError, not a loop', async () => {
  const server = fakeServer();
  const refusing = ({ method, url, header, data }) =>
    url.endsWith('/auth/login')
      ? server.handler({ method, url, header, data })
      : { statusCode: 401, data: { error: { code: 'not_authenticated', message: 'No.' } } };
  const wx = stubWx({ appId: APP_ID, handler: refusing });
  const api = createClient({ baseUrl: BASE, wx });
  await assert.rejects(api.get('/api/v1/me'), (error) => error instanceof ApiError && error.status === 401);
  assert.equal(wx.logins, 2); // the first login, and the one retry
});

test('concurrent requests without a token share one login', async () => {
  const { wx, api } = setUp();
  await Promise.all([api.get('/api/v1/me'), api.get('/api/v1/me'), api.get('/api/v1/me')]);
  assert.equal(wx.logins, 1);
});

test("the API's error shape becomes an ApiError with its code, status and fields", async () => {
  const { api } = setUp();
  const error = await api.patch('/api/v1/me', { nickname: 'x'.repeat(100) }).catch((caught) => caught);
  assert.ok(error instanceof ApiError);
  assert.deepEqual([error.code, error.status, error.message], ['invalid', 400, 'Bad.']);
  assert.deepEqual(error.fields, { nickname: ['Too long.'] });
  const missing = await api.get('/api/v1/nope').catch((caught) => caught);
  assert.deepEqual([missing.code, missing.status], ['not_found', 404]);
});

test('an answer that is not the error shape, or no answer at all, is an ApiError too', async () => {
  const { api } = setUp();
  const proxy = await api.get('/api/v1/broken').catch((caught) => caught);
  assert.deepEqual([proxy.code, proxy.status], ['http_502', 502]);
  const offline = createClient({
    baseUrl: BASE,
    wx: stubWx({
      appId: APP_ID,
      handler: () => {
        throw new Error('timeout');
      },
    }),
  });
  const error = await offline.get('/api/v1/ping', { auth: false }).catch((caught) => caught);
  assert.deepEqual([error.code, error.status], ['network_error', 0]);
  assert.match(error.message, /request:fail timeout/);
});

test('auth: false sends no token and never logs in', async () => {
  const { wx, api } = setUp();
  await api.get('/api/v1/nope', { auth: false }).catch(() => null);
  assert.equal(wx.logins, 0);
  assert.equal(wx.requests[0].header.Authorization, undefined);
});

test('logout revokes the token on the server and forgets it', async () => {
  const { server, wx, api } = setUp();
  await api.get('/api/v1/me');
  await api.logout();
  assert.equal(wx.getStorageSync(DEFAULT_TOKEN_KEY), '');
  assert.equal(server.valid.size, 0);
});

test('pay() prepays on the server and hands the five fields to wx.requestPayment', async () => {
  const { wx, api } = setUp();
  const paid = await api.pay(7);
  assert.equal(paid.errMsg, 'requestPayment:ok');
  const [options] = wx.payments;
  assert.deepEqual(
    { timeStamp: options.timeStamp, nonceStr: options.nonceStr, package: options.package, signType: options.signType, paySign: options.paySign },
    { timeStamp: '1700000000', nonceStr: 'n0nce', package: 'prepay_id=wx123', signType: 'RSA', paySign: 'c2ln' }
  );
  assert.equal(wx.requests.at(-1).url, `${BASE}/api/v1/pay/orders/7/prepay`);
});

test('a payment the user cancels or that fails rejects with its own code', async () => {
  const { wx, api } = setUp();
  wx.paymentAnswer = { errMsg: 'requestPayment:fail cancel' };
  const cancelled = await api.pay(7).catch((caught) => caught);
  assert.ok(cancelled instanceof PaymentError);
  assert.equal(cancelled.code, 'payment_cancelled');
  wx.paymentAnswer = { errMsg: 'requestPayment:fail (detail message)' };
  assert.equal((await api.pay(7).catch((caught) => caught)).code, 'payment_failed');
});

test('outside a mini-program the wx object and the base URL must be given', () => {
  assert.throws(() => createClient({ baseUrl: BASE }), TypeError);
  assert.throws(() => createClient({ wx: stubWx({ appId: APP_ID, handler: () => ({}) }) }), TypeError);
});

'use strict';
/**
 * Miniplex's client for mini-program code: plain CommonJS, no build step, no dependency.
 *
 *   const { createClient } = require('./miniplex');
 *   const api = createClient({ baseUrl: 'https://api.example.com' });
 *   const me = await api.get('/api/v1/me');          // logs in with wx.login first if there is no token yet
 *   await api.pay(orderId);                          // prepay on the server, then wx.requestPayment
 *
 * Every request carries X-AppID (this mini-program's own AppID, from wx.getAccountInfoSync()), so one server
 * answers many mini-programs. The token from POST /api/v1/auth/login is kept in storage (wx.setStorageSync); a 401
 * logs in again and retries the request once. An error answer ({"error": {"code", "message"}}) rejects with an
 * ApiError carrying its code, so callers branch on `error.code`, never on the text.
 */

const DEFAULT_TOKEN_KEY = 'miniplex.token';
const LOGIN_PATH = '/api/v1/auth/login';

/** An error answer of the API, or a request that got none (code "network_error", status 0). */
class ApiError extends Error {
  constructor({ code, message, status, fields, body }) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.fields = fields; // `invalid` only: what is wrong, by field
    this.body = body;
  }
}

/** wx.requestPayment did not pay: `code` is "payment_cancelled" (the user closed it) or "payment_failed". */
class PaymentError extends Error {
  constructor(code, errMsg) {
    super(errMsg || code);
    this.name = 'PaymentError';
    this.code = code;
    this.errMsg = errMsg;
  }
}

function errorFromAnswer(status, data) {
  const error = data && typeof data === 'object' && data.error;
  if (error && typeof error.code === 'string') {
    return new ApiError({ code: error.code, message: error.message, status, fields: error.fields, body: data });
  }
  // Not the API's shape (a proxy's page, an empty body): the status is all there is to go on.
  return new ApiError({ code: `http_${status}`, message: `HTTP ${status}`, status, body: data });
}

/** wx.request as a Promise of {statusCode, data, header}; a request that got no answer rejects. */
function wxRequest(wx, options) {
  return new Promise((resolve, reject) => {
    wx.request({
      ...options,
      success: resolve,
      fail: (failure) => {
        const errMsg = (failure && failure.errMsg) || 'request:fail';
        reject(new ApiError({ code: 'network_error', message: errMsg, status: 0 }));
      },
    });
  });
}

function wxLoginCode(wx) {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (answer) =>
        answer && answer.code
          ? resolve(answer.code)
          : reject(new ApiError({ code: 'wx_login_failed', message: 'wx.login gave no code', status: 0 })),
      fail: (failure) =>
        reject(new ApiError({ code: 'wx_login_failed', message: (failure && failure.errMsg) || 'wx.login failed', status: 0 })),
    });
  });
}

/**
 * Calls wx.requestPayment with the five fields of POST /api/v1/pay/orders/<id>/prepay's answer.
 * Resolves once WeChat says the user paid (the server learns it from WeChat Pay's notification, not from here).
 */
function requestPayment(wx, prepay) {
  const { timeStamp, nonceStr, signType, paySign } = prepay;
  return new Promise((resolve, reject) => {
    wx.requestPayment({
      timeStamp,
      nonceStr,
      package: prepay.package,
      signType,
      paySign,
      success: resolve,
      fail: (failure) => {
        const errMsg = (failure && failure.errMsg) || 'requestPayment:fail';
        reject(new PaymentError(/cancel/.test(errMsg) ? 'payment_cancelled' : 'payment_failed', errMsg));
      },
    });
  });
}

/**
 * A client of one Miniplex server for this mini-program.
 * options.baseUrl: the server (https://..., no trailing slash needed); options.wx: the wx object (default the
 * global one); options.appId: this mini-program's AppID (default wx.getAccountInfoSync().miniProgram.appId);
 * options.tokenKey: the storage key of the token.
 */
function createClient(options) {
  const wx = options.wx || globalThis.wx;
  if (!wx) throw new TypeError('createClient: no wx object (pass options.wx outside a mini-program)');
  if (!options.baseUrl) throw new TypeError('createClient: options.baseUrl is required');
  const baseUrl = String(options.baseUrl).replace(/\/+$/, '');
  const tokenKey = options.tokenKey || DEFAULT_TOKEN_KEY;
  const appId = options.appId || wx.getAccountInfoSync().miniProgram.appId;
  let loggingIn = null; // one login at a time: concurrent 401s share it

  function token() {
    return wx.getStorageSync(tokenKey) || '';
  }

  async function send(method, path, body, withToken) {
    const header = { 'X-AppID': appId, 'Content-Type': 'application/json' };
    if (withToken && token()) header.Authorization = `Bearer ${token()}`;
    return wxRequest(wx, { url: baseUrl + path, method, header, data: body });
  }

  async function login() {
    if (!loggingIn) {
      loggingIn = (async () => {
        const code = await wxLoginCode(wx);
        const answer = await send('POST', LOGIN_PATH, { code }, false);
        if (answer.statusCode !== 200) throw errorFromAnswer(answer.statusCode, answer.data);
        wx.setStorageSync(tokenKey, answer.data.token);
        return answer.data;
      })().finally(() => {
        loggingIn = null;
      });
    }
    return loggingIn;
  }

  /** method, path (/api/v1/...), body; options.auth false sends no token and never logs in (ping, public pages). */
  async function request(method, path, body, requestOptions = {}) {
    const auth = requestOptions.auth !== false;
    if (auth && !token()) await login();
    let answer = await send(method, path, body, auth);
    if (auth && answer.statusCode === 401) {
      // Expired, revoked or from before a reinstall: log in again and try once more, never in a loop.
      wx.removeStorageSync(tokenKey);
      await login();
      answer = await send(method, path, body, auth);
    }
    if (answer.statusCode >= 200 && answer.statusCode < 300) return answer.statusCode === 204 ? null : answer.data;
    throw errorFromAnswer(answer.statusCode, answer.data);
  }

  /** Revokes the token on the server (an already invalid one needs nothing more) and forgets it here. */
  async function logout() {
    if (!token()) return;
    try {
      const answer = await send('POST', '/api/v1/auth/logout', undefined, true);
      if (answer.statusCode >= 300 && answer.statusCode !== 401) throw errorFromAnswer(answer.statusCode, answer.data);
    } finally {
      wx.removeStorageSync(tokenKey);
    }
  }

  return {
    appId,
    baseUrl,
    login,
    logout,
    request,
    get: (path, requestOptions) => request('GET', path, undefined, requestOptions),
    post: (path, body, requestOptions) => request('POST', path, body, requestOptions),
    patch: (path, body, requestOptions) => request('PATCH', path, body, requestOptions),
    /** Prepays the order on the server (its price is the server's) and opens WeChat's payment sheet. */
    pay: async (orderId) => requestPayment(wx, await request('POST', `/api/v1/pay/orders/${encodeURIComponent(orderId)}/prepay`)),
    requestPayment: (prepay) => requestPayment(wx, prepay),
  };
}

module.exports = { createClient, requestPayment, ApiError, PaymentError, DEFAULT_TOKEN_KEY };

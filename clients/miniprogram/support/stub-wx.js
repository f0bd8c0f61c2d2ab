'use strict';
/**
 * Stand-ins for the mini-program's `wx` object, for Node's test runner.
 * stubWx: requests answered by a handler function (no network); fetchWx: requests sent over HTTP with fetch, to a
 * real server. Both keep storage in memory and log in with "code-<person>~<n>" codes (the fake WeChat server's
 * form: the same person each time, a new code each login).
 */

function baseWx({ appId, person = 'alice' }) {
  const storage = new Map();
  let logins = 0;
  const wx = {
    storage,
    payments: [],
    paymentAnswer: { errMsg: 'requestPayment:ok' },
    get logins() {
      return logins;
    },
    getAccountInfoSync: () => ({ miniProgram: { appId, envVersion: 'develop', version: '' } }),
    login: ({ success }) => {
      logins += 1;
      setImmediate(() => success({ code: `code-${person}~${logins}`, errMsg: 'login:ok' }));
    },
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => storage.set(key, value),
    removeStorageSync: (key) => storage.delete(key),
    requestPayment: (options) => {
      wx.payments.push(options);
      const answer = wx.paymentAnswer;
      setImmediate(() => (/:ok$/.test(answer.errMsg) ? options.success(answer) : options.fail(answer)));
    },
  };
  return wx;
}

/** handler({method, url, header, data}) -> {statusCode, data} (or throws for a request that gets no answer). */
function stubWx({ appId, person, handler }) {
  const wx = baseWx({ appId, person });
  wx.requests = [];
  wx.request = (options) => {
    const sent = { method: options.method, url: options.url, header: { ...options.header }, data: options.data };
    wx.requests.push(sent);
    setImmediate(() => {
      let answer;
      try {
        answer = handler(sent);
      } catch (error) {
        options.fail({ errMsg: `request:fail ${error.message}` });
        return;
      }
      options.success({ statusCode: answer.statusCode, data: answer.data, header: {} });
    });
  };
  return wx;
}

/** wx.request over HTTP: JSON in and out, as the mini-program's runtime does for application/json. */
function fetchWx({ appId, person }) {
  const wx = baseWx({ appId, person });
  wx.request = (options) => {
    const init = { method: options.method || 'GET', headers: options.header };
    if (options.data !== undefined) init.body = JSON.stringify(options.data);
    fetch(options.url, init).then(
      async (response) => {
        const text = await response.text();
        let data = text;
        try {
          data = text ? JSON.parse(text) : '';
        } catch (_) {
          // not JSON: handed over as text, as wx.request does
        }
        options.success({ statusCode: response.status, data, header: Object.fromEntries(response.headers) });
      },
      (error) => options.fail({ errMsg: `request:fail ${error.message}` })
    );
  };
  return wx;
}

module.exports = { stubWx, fetchWx };

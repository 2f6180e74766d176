/* Email verification page (/verify#token=...). The token travels after '#', which
   browsers never send: it reaches the API only through this call. */
(function () {
  'use strict';

  var M = window.Mem0;
  var status = document.getElementById('verify-status');
  var token = new URLSearchParams(window.location.hash.slice(1)).get('token');
  // The link is used up either way; keep it out of the history and of screenshots.
  window.history.replaceState(null, '', window.location.pathname);

  function show(text, kind) {
    status.textContent = text;
    status.className = 'alert ' + kind;
  }

  if (!token) {
    show('This link has no token. Open the link from the mail as it is, or ask for a new one on your dashboard.', 'is-error');
    return;
  }
  M.api('/auth/verify-email?token=' + encodeURIComponent(token)).then(function (result) {
    if (result.ok) {
      show('Email verified. Thank you!', 'is-success');
    } else if (result.body && result.body.error === 'invalid_token') {
      show('This link is wrong, used already or expired. Ask for a new one on your dashboard.', 'is-error');
    } else {
      show(M.errorMessage(result), 'is-error');
    }
  });
})();

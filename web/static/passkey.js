// monban's only script: the WebAuthn ceremonies (W3C WebAuthn Level 3),
// which need the browser's API. The server renders the options, with a
// challenge it keeps, into a data attribute; this script asks the
// authenticator and submits the result with an ordinary form post.
// Without JavaScript or WebAuthn the passkey controls stay hidden.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function dec(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function enc(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeList(list) {
    (list || []).forEach(function (c) {
      c.id = dec(c.id);
    });
  }

  // credentialJSON is the PublicKeyCredential as WebAuthn §5.1 JSON
  // (what toJSON gives in newer browsers).
  function credentialJSON(c) {
    var r = c.response;
    var out = {
      id: c.id,
      rawId: enc(c.rawId),
      type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults(),
      response: { clientDataJSON: enc(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = enc(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = enc(r.authenticatorData);
      out.response.signature = enc(r.signature);
      if (r.userHandle && r.userHandle.byteLength) {
        out.response.userHandle = enc(r.userHandle);
      }
    }
    return JSON.stringify(out);
  }

  function failed(form) {
    var p = form.querySelector("#passkey-failed");
    if (p) {
      p.hidden = false;
    }
  }

  function submit(form, credential) {
    form.querySelector('input[name="credential"]').value = credentialJSON(credential);
    form.submit();
  }

  // Sign-in: the button, and the username field's autofill
  // (mediation "conditional") where the browser offers it.
  var login = document.getElementById("passkey-form");
  if (login && login.dataset.passkeyGet) {
    var pending = null;
    var get = function (mediation) {
      var opts = JSON.parse(login.dataset.passkeyGet).publicKey;
      opts.challenge = dec(opts.challenge);
      decodeList(opts.allowCredentials);
      var req = { publicKey: opts };
      if (mediation) {
        pending = new AbortController();
        req.mediation = mediation;
        req.signal = pending.signal;
      }
      return navigator.credentials.get(req);
    };
    var button = document.getElementById("passkey-button");
    button.hidden = false;
    button.addEventListener("click", function () {
      if (pending) {
        pending.abort();
        pending = null;
      }
      get(null).then(function (c) {
        submit(login, c);
      }, function () {
        failed(login);
      });
    });
    if (login.dataset.passkeyConditional && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) {
          get("conditional").then(function (c) {
            submit(login, c);
          }, function () {});
        }
      });
    }
  }

  // Registration on the account's security page.
  var reg = document.getElementById("passkey-register");
  if (reg && reg.dataset.passkeyCreate) {
    reg.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!reg.reportValidity()) {
        return;
      }
      var opts = JSON.parse(reg.dataset.passkeyCreate).publicKey;
      opts.challenge = dec(opts.challenge);
      opts.user.id = dec(opts.user.id);
      decodeList(opts.excludeCredentials);
      navigator.credentials.create({ publicKey: opts }).then(function (c) {
        submit(reg, c);
      }, function () {
        failed(reg);
      });
    });
  }
})();

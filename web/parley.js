// Parley's web chat: reads the server's /config.json, pins the page to this server with a
// Content-Security-Policy, then starts Converse.js in fullscreen mode over WebSocket (or BOSH
// with ?transport=bosh). Every Converse default that would reach another host is turned off.
'use strict';

(function () {
  // Where contrib/install-web.sh puts Converse's dist/, relative to this page.
  const assetsUrl = new URL('converse/', document.baseURI);

  function showError(text) {
    const element = document.getElementById('parley-error');
    element.textContent = text;
    element.hidden = false;
  }

  // The relative URL from config.json on this page's origin; ws:// or wss:// for WebSocket.
  function serviceUrl(path, websocket) {
    const url = new URL(path, document.baseURI);
    if (websocket) url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.href;
  }

  // Only this server: the page's origin and the upload service's (http.public_url). A policy
  // inserted before any other script runs binds everything the page loads afterwards.
  function pinToServer(config) {
    const origins = ["'self'"];
    if (config.public_url) {
      const upload = new URL(config.public_url).origin;
      if (upload !== location.origin) origins.push(upload);
    }
    const own = origins.join(' ');
    const policy = [
      "default-src 'self'",
      "script-src 'self' 'wasm-unsafe-eval'",
      "style-src 'self' 'unsafe-inline'",
      `img-src ${own} data: blob:`,
      `media-src ${own} data: blob:`,
      `connect-src ${own} ${serviceUrl(config.websocket_url, true)}`,
      "font-src 'self' data:",
      "worker-src 'self' blob:",
      "frame-src 'none'",
      "object-src 'none'",
      "form-action 'self'",
      "base-uri 'self'",
    ].join('; ');
    const meta = document.createElement('meta');
    meta.httpEquiv = 'Content-Security-Policy';
    meta.content = policy;
    document.head.prepend(meta);
    return origins.map((origin) => (origin === "'self'" ? location.hostname : new URL(origin).hostname));
  }

  // converse.min.js is an ES module that announces itself with a converse-loaded event. It is
  // loaded by a <script src> element, not import(): Converse finds its OMEMO WebAssembly next
  // to that element's src.
  function loadConverse() {
    return new Promise((resolve, reject) => {
      window.addEventListener('converse-loaded', (event) => resolve(event.detail.converse),
                              { once: true });
      const script = document.createElement('script');
      script.type = 'module';
      script.src = new URL('converse.min.js', assetsUrl).href;
      script.onerror = () => reject(new Error(`cannot load ${script.src}`));
      document.head.append(script);
    });
  }

  function converseSettings(config, ownHosts) {
    const host = config.hosts[0];
    const assets = assetsUrl.pathname.replace(/\/$/, '');
    const transport = new URLSearchParams(location.search).get('transport');
    const settings = {
      view_mode: 'fullscreen',
      assets_path: assets,
      sounds_path: `${assets}/sounds/`,
      notification_icon: `${assets}/images/logo/conversejs-filled.svg`,
      // Connection: this server only, no XEP-0156 lookup of another domain's host-meta.
      discover_connection_methods: false,
      locked_domain: config.domain,
      registration_domain: config.domain,
      default_domain: config.domain,
      allow_registration: Boolean(host.registration),
      // Nothing fetched from elsewhere: provider lists, MUC search on jabber.network, emoji
      // images from a CDN (the system's emoji font draws them), embedded players, link previews
      // and media on other hosts.
      providers_link: '',
      xmpp_providers_url: '',
      autocomplete_providers_url: '',
      muc_search_service: '',
      use_system_emojis: true,
      emoji_image_path: `${assets}/`,
      embed_3rd_party_media_players: false,
      fetch_url_headers: false,
      allowed_image_domains: ownHosts,
      allowed_video_domains: ownHosts,
      allowed_audio_domains: ownHosts,
    };
    if (transport === 'bosh') {
      settings.bosh_service_url = serviceUrl(config.bosh_url, false);
    } else {
      settings.websocket_url = serviceUrl(config.websocket_url, true);
    }
    if (host.anonymous && !host.registration) {
      settings.authentication = 'anonymous';
      settings.auto_login = true;
      settings.jid = config.domain;
    }
    return settings;
  }

  async function start() {
    const response = await fetch('config.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    const config = await response.json();
    const ownHosts = pinToServer(config);
    // COMPAT: Converse.js 14's fullscreen footer shows its sponsors' logos from conversejs.org.
    // An element defined first is kept by Converse (api.elements.register skips it).
    customElements.define('converse-footer', class extends HTMLElement {});
    const converse = await loadConverse();
    await converse.initialize(converseSettings(config, ownHosts));
  }

  start().catch((error) => showError(`The web chat could not start: ${error.message}`));
})();

// The part of BBB's HTML5 client that a client plugin talks to, as far as lpcfe's chat plugin
// uses it. As BBB's loader does, each plugin gets a container <div id="<uuid>"> and a <script>
// with `uuid` and `pluginName` attributes, and window.bbb_plugins[uuid] is the plugin API object
// the SDK's BbbPluginSdk.initialize() completes. The SDK's hooks subscribe through window events;
// the custom subscription is answered for `user_metadata` (this user's own join userdata) only.
// Generic sidekick content appears behind a button in the side navigation and in the side panel,
// opened at once when the item says `open`, unmounted when closed.
(function () {
  "use strict";
  const host = document.getElementById("sim-plugins");
  if (!host) return;
  const plugins = JSON.parse(host.dataset.plugins || "[]");
  const userMetadata = JSON.parse(host.dataset.userMetadata || "[]");
  const nav = document.getElementById("sim-sidekick-nav");
  const panel = document.getElementById("sim-sidekick");
  const state = document.getElementById("sim-plugin-state");
  const CUSTOM_SUBSCRIPTION = "Hooks::CustomSubscription";
  const SIDEKICK_AREA = "GENERIC_CONTENT_SIDEKICK_AREA";

  window.addEventListener("PLUGIN_SUBSCRIBED_TO_BBB_CORE", (event) => {
    const detail = event.detail || {};
    if (detail.hook !== CUSTOM_SUBSCRIPTION) return;
    const args = detail.hookArguments || {};
    const data = /\buser_metadata\b/.test(args.query || "")
      ? { loading: false, data: { user_metadata: userMetadata } }
      : { loading: false, error: { message: "The simulator answers user_metadata subscriptions only." } };
    window.dispatchEvent(
      new CustomEvent("BBB_CORE_SENT_NEW_DATA", { detail: { hook: CUSTOM_SUBSCRIPTION, hookArguments: args, data } }),
    );
  });

  let shown = null; // { button, content, root }

  function close() {
    if (!shown) return;
    shown.root.unmount();
    shown.content.remove();
    shown.button.setAttribute("aria-expanded", "false");
    panel.hidden = true;
    shown = null;
  }

  function open(item, button) {
    close();
    const content = document.createElement("div");
    content.className = "sim-sidekick-content";
    panel.append(content);
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    shown = { button, content, root: item.contentFunction(content) };
  }

  function setGenericContentItems(uuid, items) {
    for (const old of nav.querySelectorAll("button")) {
      if (old.dataset.plugin !== uuid) continue;
      if (shown && shown.button === old) close();
      old.remove();
    }
    items.forEach((item, index) => {
      if (typeof item.setItemId === "function") item.setItemId(`${uuid}-${index}`);
      if (item.type !== SIDEKICK_AREA) return;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = item.name;
      button.dataset.plugin = uuid;
      button.setAttribute("aria-controls", panel.id);
      button.setAttribute("aria-expanded", "false");
      button.addEventListener("click", () => (shown && shown.button === button ? close() : open(item, button)));
      nav.append(button);
      if (item.open) open(item, button);
    });
  }

  const ignored = () => [];
  window.bbb_plugins = window.bbb_plugins || {};
  for (const plugin of plugins) {
    window.bbb_plugins[plugin.uuid] = {
      pluginName: plugin.name,
      setGenericContentItems: (items) => setGenericContentItems(plugin.uuid, items),
      setUserListDropdownItems: ignored,
      setPresentationToolbarItems: ignored,
      setActionButtonDropdownItems: ignored,
      setActionsBarItems: ignored,
      setAudioSettingsDropdownItems: ignored,
      setPresentationDropdownItems: ignored,
      setNavBarItems: ignored,
      setScreenshareHelperItems: ignored,
      setUserCameraHelperItems: ignored,
      setOptionsDropdownItems: ignored,
      setCameraSettingsDropdownItems: ignored,
      setUserCameraDropdownItems: ignored,
      setUserListItemAdditionalInformation: ignored,
      setFloatingWindows: ignored,
      mapOfPushEntryFunctions: {},
    };
    const container = document.createElement("div");
    container.id = plugin.uuid;
    host.append(container);
    const script = document.createElement("script");
    script.addEventListener("load", () => state.append(`${plugin.name}: loaded. `));
    script.addEventListener("error", () => state.append(`${plugin.name}: could not be loaded. `));
    script.src = plugin.url;
    script.setAttribute("uuid", plugin.uuid);
    script.setAttribute("pluginName", plugin.name);
    document.head.append(script);
  }
})();

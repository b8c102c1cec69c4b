// BBB's plugin loader adds a <div id="<uuid>"> and then this script with uuid and pluginName
// attributes; the plugin renders into that div.
import * as React from 'react';
import * as ReactDOM from 'react-dom/client';
import LpcfeChatPlugin from './plugin';

const script = document.currentScript;
const uuid = script?.getAttribute('uuid') || 'root';
const container = document.getElementById(uuid);
if (container) {
  ReactDOM.createRoot(container).render(<LpcfeChatPlugin pluginUuid={uuid} />);
}

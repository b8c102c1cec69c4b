// Opens a side-panel area in place of BBB's chat (which lpcfe turns off with
// disabledFeatures=chat) and shows lpcfe's chat page for this room in it.
//
// The address comes from this user's own join parameters (userdata-lpcfe_chat_url), read
// through BBB's user_metadata subscription, which answers each user with their own rows only.
// It carries a single-use ticket: the chat page redeems it on its first load and keeps the
// session in its tab, so closing and reopening the panel needs no second ticket.
import * as React from 'react';
import { useEffect } from 'react';
import * as ReactDOM from 'react-dom/client';
import { BbbPluginSdk, GenericContentSidekickArea, PluginApi } from 'bigbluebutton-html-plugin-sdk';

const USER_METADATA = `subscription LpcfeChatUrl {
  user_metadata {
    parameter
    value
  }
}`;

interface UserMetadata {
  user_metadata: { parameter: string; value: string }[];
}

function parameter(data: UserMetadata | undefined, name: string): string {
  return data?.user_metadata?.find((row) => row.parameter === name)?.value || '';
}

function isWebAddress(value: string): boolean {
  try {
    return ['https:', 'http:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function ChatFrame({ url, title }: { url: string; title: string }): React.ReactElement {
  // Sized by attributes, not style: BBB's and lpcfe's pages forbid inline styles.
  return (
    <iframe
      className="lpcfe-chat-frame"
      title={title}
      src={url}
      width="100%"
      height="100%"
      allow="clipboard-write"
      referrerPolicy="no-referrer"
    />
  );
}

export default function LpcfeChatPlugin({ pluginUuid }: { pluginUuid: string }): null {
  BbbPluginSdk.initialize(pluginUuid);
  const pluginApi: PluginApi = BbbPluginSdk.getPluginApi(pluginUuid);
  // initialize() above attached the hooks.
  const metadata = pluginApi.useCustomSubscription!<UserMetadata>(USER_METADATA);
  const url = parameter(metadata?.data, 'lpcfe_chat_url');
  const title = parameter(metadata?.data, 'lpcfe_chat_title') || 'Chat';

  useEffect(() => {
    if (!isWebAddress(url)) {
      pluginApi.setGenericContentItems([]);
      return;
    }
    pluginApi.setGenericContentItems([
      new GenericContentSidekickArea({
        name: title,
        section: title,
        buttonIcon: 'chat',
        open: true,
        contentFunction: (element: HTMLElement) => {
          const root = ReactDOM.createRoot(element);
          root.render(<ChatFrame url={url} title={title} />);
          return root;
        },
      }),
    ]);
  }, [url, title]);

  return null;
}

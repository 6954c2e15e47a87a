/**
 * jupyter-duel front end: one plugin per feature.
 *
 * - `jupyter-duel:client`   provides `IDuelClient` (session token, Socket.IO connection, protocol handling);
 * - `jupyter-duel:sidebar`  the left-sidebar Duel panel (identity, rating, matchmaking);
 * - `jupyter-duel:duel-view` opens a duel view in the main area on every `match_found`;
 * - `jupyter-duel:commands` matchmaking commands in the palette;
 * - `jupyter-duel:history`  the Duel history widget (battles, rating chart, leaderboard), `duel:open-history`.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IThemeManager, MainAreaWidget } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { DuelClient } from './client';
import { CommandIDs, PALETTE_CATEGORY } from './commands';
import { DuelView } from './duelview';
import { DuelHistory } from './history';
import { DuelSidebar } from './sidebar';
import { IDuelClient, type IBattle, type IBattleRestore } from './tokens';

export { IDuelClient } from './tokens';
export type { ConnectionState, IBattle, IBattleRestore, IOpponentState, IQueueStatus } from './tokens';

const clientPlugin: JupyterFrontEndPlugin<IDuelClient> = {
  id: 'jupyter-duel:client',
  description: 'Connects to the jupyter-duel service.',
  autoStart: true,
  provides: IDuelClient,
  activate: (): IDuelClient => {
    const client = new DuelClient();
    client.connect();
    return client;
  }
};

const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-duel:sidebar',
  description: 'The Duel panel in the left sidebar.',
  autoStart: true,
  requires: [IDuelClient],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    client: IDuelClient,
    palette: ICommandPalette | null
  ): void => {
    const sidebar = new DuelSidebar({ client, commands: app.commands });
    app.shell.add(sidebar, 'left', { rank: 850 });

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Open Duel Panel',
      caption: 'Show the Duel panel in the left sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    palette?.addItem({ command: CommandIDs.openPanel, category: PALETTE_CATEGORY });
  }
};

const duelViewPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-duel:duel-view',
  description: 'Opens a duel view in the main area when a match is found.',
  autoStart: true,
  requires: [IDuelClient, IEditorServices, IRenderMimeRegistry],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    client: IDuelClient,
    editorServices: IEditorServices,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null
  ): void => {
    let current: DuelView | null = null;

    const open = (battle: IBattle, restore: IBattleRestore | null): void => {
      if (current && !current.isDisposed && current.battleId === battle.match.battle_id) {
        return;
      }
      const view = new DuelView({ battle, client, editorServices, rendermime, restore });
      current = view;
      view.disposed.connect(() => {
        if (current === view) {
          current = null;
        }
      });
      // Before the layout is restored the main area is not ready (and would be reset by the restorer).
      void app.restored.then(() => {
        if (view.isDisposed) {
          return;
        }
        app.shell.add(view, 'main', { mode: 'tab-after' });
        app.shell.activateById(view.id);
        app.commands.notifyCommandChanged();
      });
    };
    client.matchFound.connect((_, battle) => open(battle, null));
    // A battle resumed before this plugin was activated (page reload: the socket can be faster than the app).
    if (client.battle && !client.battle.complete) {
      open(client.battle, client.lastRestore);
    }
    client.battleComplete.connect(() => app.commands.notifyCommandChanged());

    const running = (): DuelView | null => (current && !current.isOver ? current : null);

    app.commands.addCommand(CommandIDs.submit, {
      label: 'Submit Solution',
      caption: 'Judge the current duel solution against every test',
      isEnabled: () => running() !== null,
      execute: () => running()?.submit()
    });
    app.commands.addCommand(CommandIDs.runSamples, {
      label: 'Run Sample Tests',
      caption: 'Run the current duel solution against the visible samples',
      isEnabled: () => running() !== null,
      execute: () => running()?.runSamples()
    });
    app.commands.addCommand(CommandIDs.forfeit, {
      label: 'Forfeit Duel',
      isEnabled: () => running() !== null,
      execute: () => running()?.forfeit()
    });
    app.commands.addCommand(CommandIDs.showDuel, {
      label: 'Show Current Duel',
      isEnabled: () => current !== null,
      execute: () => {
        if (current) {
          app.shell.activateById(current.id);
        }
      }
    });
    for (const command of [CommandIDs.submit, CommandIDs.runSamples, CommandIDs.forfeit, CommandIDs.showDuel]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
};

const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-duel:commands',
  description: 'Matchmaking commands.',
  autoStart: true,
  requires: [IDuelClient],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, client: IDuelClient, palette: ICommandPalette | null): void => {
    const inBattle = () => client.battle !== null && client.battle.complete === null;
    app.commands.addCommand(CommandIDs.findOpponent, {
      label: 'Find Opponent',
      caption: 'Join the matchmaking queue',
      isEnabled: () => client.connectionState === 'connected' && client.queue === null && !inBattle(),
      execute: () => client.findOpponent()
    });
    app.commands.addCommand(CommandIDs.cancelSearch, {
      label: 'Cancel Opponent Search',
      caption: 'Leave the matchmaking queue',
      isEnabled: () => client.queue !== null,
      execute: () => client.cancelSearch()
    });
    client.stateChanged.connect(() => app.commands.notifyCommandChanged());
    for (const command of [CommandIDs.findOpponent, CommandIDs.cancelSearch]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
};

const historyPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-duel:history',
  description: 'The Duel history widget: battles, rating chart and leaderboard.',
  autoStart: true,
  requires: [IDuelClient],
  optional: [ICommandPalette, IThemeManager],
  activate: (
    app: JupyterFrontEnd,
    client: IDuelClient,
    palette: ICommandPalette | null,
    themes: IThemeManager | null
  ): void => {
    let widget: MainAreaWidget<DuelHistory> | null = null;
    themes?.themeChanged.connect(() => widget?.content.refreshTheme());
    app.commands.addCommand(CommandIDs.openHistory, {
      label: 'Open Duel History',
      caption: 'Your battles, rating over time and the leaderboard',
      execute: () => {
        if (!widget || widget.isDisposed) {
          const content = new DuelHistory({ client });
          widget = new MainAreaWidget({ content });
          widget.id = 'jupyter-duel-history-panel';
          widget.title.label = content.title.label;
          widget.title.caption = content.title.caption;
          widget.title.icon = content.title.icon;
          widget.title.closable = true;
        }
        if (!widget.isAttached) {
          app.shell.add(widget, 'main', { mode: 'tab-after' });
        }
        app.shell.activateById(widget.id);
        void widget.content.refresh();
      }
    });
    palette?.addItem({ command: CommandIDs.openHistory, category: PALETTE_CATEGORY });
  }
};

export default [clientPlugin, sidebarPlugin, duelViewPlugin, commandsPlugin, historyPlugin];

/**
 * jupyter-duel front end: one plugin per feature.
 *
 * - `jupyter-duel:client`   provides `IDuelClient` (session token, Socket.IO connection, protocol handling) and
 *                           holds the player's preferences (`schema/client.json`: default pool, what the opponent's
 *                           pane shows, notifications);
 * - `jupyter-duel:sidebar`  the left-sidebar Duel panel (identity, rating, matchmaking, tournaments: the
 *                           tournament commands `duel:join-tournament`, `duel:leave-tournament` are added with it);
 * - `jupyter-duel:duel-view` opens a duel view in the main area on every `match_found`; while the duel is not in
 *                           view, JupyterLab notifications say "Match found" and "Your opponent submitted";
 * - `jupyter-duel:commands` matchmaking commands in the palette;
 * - `jupyter-duel:history`  the Duel history widget (battles, rating chart, leaderboard), `duel:open-history`;
 * - `jupyter-duel:challenges` challenges between players: notifications of incoming offers, `duel:rematch`;
 * - `jupyter-duel:class-view` instructors: the class view (`duel:open-class-view`);
 * - `jupyter-duel:spectate`  instructors: one spectate view per followed battle (`duel:spectate`);
 * - `jupyter-duel:review`    a finished battle's review and replay (`jupyter-duel:open-review`), also opened by a
 *                           share link (`lab?duel-review=ID`, through JupyterLab's router).
 * - `jupyter-duel:notebook`  the notebook as a duel partner: the duel's scratch notebook, a notebook cell sent to
 *                           the duel editor, a finished duel exported as a notebook (`notebook.ts`).
 */
import { IRouter, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, IThemeManager, MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { offerHeadline, offerKind } from './challenges';
import { ClassView } from './classview';
import { DuelClient } from './client';
import { CommandIDs, PALETTE_CATEGORY } from './commands';
import { DuelView } from './duelview';
import { QUICK_MESSAGES } from './quickmessages';
import type { ReactionName } from './protocol';
import { DuelHistory } from './history';
import { REVIEW_PARAM, ReplayView, reviewTarget } from './replay';
import { activeCellSource, exportDuel, openScratchNotebook } from './notebook';
import { DuelSidebar } from './sidebar';
import { SpectateView } from './spectate';
import { addTournamentCommands } from './tournament';
import {
  IDuelClient,
  type IBattle,
  type IBattleRestore,
  type IDuelPreferences,
  type IOfferState
} from './tokens';

export { IDuelClient } from './tokens';
export type {
  ConnectionState,
  IAck,
  IBattle,
  IBattleRestore,
  IDuelPreferences,
  IOfferState,
  IOpponentState,
  IQueueStatus,
  MirrorDisplay
} from './tokens';

/** The plugin whose settings (`labextension/schema/client.json`) hold the player's preferences. */
const CLIENT_PLUGIN_ID = 'jupyter-duel:client';

/** The page is in front and has the focus (the player would see the duel view if it were current). */
function pageInView(): boolean {
  return document.visibilityState === 'visible' && document.hasFocus();
}

const clientPlugin: JupyterFrontEndPlugin<IDuelClient> = {
  id: CLIENT_PLUGIN_ID,
  description: 'Connects to the jupyter-duel service.',
  autoStart: true,
  provides: IDuelClient,
  optional: [ISettingRegistry, ICommandPalette],
  activate: (app: JupyterFrontEnd, settings: ISettingRegistry | null, palette: ICommandPalette | null): IDuelClient => {
    const client = new DuelClient();
    // Preferences changed from the panel itself go through the settings, so the Settings Editor agrees.
    app.commands.addCommand(CommandIDs.toggleQuickMessages, {
      label: 'Quick Messages in Duels',
      caption: 'Show the canned messages between you and your opponent (off: mute them)',
      isToggled: () => client.preferences.quickMessages,
      execute: async () => {
        const next = !client.preferences.quickMessages;
        client.setPreferences({ quickMessages: next });
        await settings?.set(CLIENT_PLUGIN_ID, 'quickMessages', next).catch(reason => {
          console.warn('jupyter-duel: the preference could not be saved', reason);
        });
      }
    });
    palette?.addItem({ command: CommandIDs.toggleQuickMessages, category: PALETTE_CATEGORY });
    // Every duel command's state (enabled, toggled) follows the client's: refreshed here, once per change, for
    // all of them (the client emits stateChanged after every match, end and preference change).
    client.stateChanged.connect(() => app.commands.notifyCommandChanged());
    if (settings) {
      settings
        .load(CLIENT_PLUGIN_ID)
        .then(loaded => {
          const apply = (): void => client.setPreferences(loaded.composite as Partial<IDuelPreferences>);
          apply();
          loaded.changed.connect(apply);
        })
        .catch(reason => console.warn('jupyter-duel: the preferences could not be loaded', reason));
    }
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
    app.commands.addCommand(CommandIDs.challengePlayer, {
      label: 'Challenge a Player',
      caption: 'Offer a duel to one online player',
      isEnabled: () => client.connectionState === 'connected',
      execute: () => {
        app.shell.activateById(sidebar.id);
        sidebar.focusChallenge();
      }
    });
    palette?.addItem({ command: CommandIDs.openPanel, category: PALETTE_CATEGORY });
    palette?.addItem({ command: CommandIDs.challengePlayer, category: PALETTE_CATEGORY });
    addTournamentCommands(app, client, sidebar.tournaments, () => app.shell.activateById(sidebar.id), palette);
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
      const view = new DuelView({ battle, client, editorServices, rendermime, restore, commands: app.commands });
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
    // While the duel is not in view, and only when the player wants notifications: JupyterLab's notifications.
    const notify = (message: string): void => {
      if (!client.preferences.notifications) {
        return;
      }
      Notification.info(message, {
        autoClose: 10_000,
        actions: [
          {
            label: 'Show duel',
            displayType: 'accent',
            callback: () => void app.commands.execute(CommandIDs.showDuel)
          }
        ]
      });
    };
    client.matchFound.connect((_, battle) => {
      const away = !pageInView(); // measured before the new view comes to the front
      open(battle, null);
      if (away && !battle.resumed) {
        const match = battle.match;
        notify(`Match found: ${match.challenge.title} against ${match.opponent.display_name}.`);
      }
    });
    client.submissionResult.connect((_, msg) => {
      const battle = client.battle;
      if (
        !battle ||
        msg.battle_id !== battle.match.battle_id ||
        msg.player === battle.match.you.name ||
        msg.samples_only
      ) {
        return;
      }
      const view = current && !current.isDisposed && current.battleId === msg.battle_id ? current : null;
      if (pageInView() && view?.isCurrent) {
        return;
      }
      notify(`Your opponent submitted: ${msg.passed}/${msg.total} tests passed.`);
    });
    // A battle resumed before this plugin was activated (page reload: the socket can be faster than the app).
    if (client.battle && !client.battle.complete) {
      open(client.battle, client.lastRestore);
    }

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
    const withOpponent = (): DuelView | null =>
      current && !current.isDisposed && !client.battle?.practice ? current : null;
    app.commands.addCommand(CommandIDs.quickMessage, {
      label: args => {
        const said = QUICK_MESSAGES.find(m => m.id === args.reaction);
        return said ? `Say “${said.label}” to Your Opponent` : 'Say a Quick Message';
      },
      caption: 'A canned quick message to your duel opponent',
      isEnabled: args =>
        withOpponent() !== null && client.preferences.quickMessages && QUICK_MESSAGES.some(m => m.id === args.reaction),
      execute: args => {
        const view = withOpponent();
        if (view) {
          void view.say(args.reaction as ReactionName);
        }
      }
    });
    for (const command of [CommandIDs.submit, CommandIDs.runSamples, CommandIDs.forfeit, CommandIDs.showDuel]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
    for (const said of QUICK_MESSAGES) {
      palette?.addItem({ command: CommandIDs.quickMessage, args: { reaction: said.id }, category: PALETTE_CATEGORY });
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
          const content = new DuelHistory({
            client,
            commands: app.commands,
            openReview: battleId => void app.commands.execute(CommandIDs.openReview, { battleId })
          });
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

const challengesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-duel:challenges',
  description: 'Challenges between players: incoming offers as notifications, rematches.',
  autoStart: true,
  requires: [IDuelClient],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, client: IDuelClient, palette: ICommandPalette | null): void => {
    // An incoming offer is a card in the Duel panel; when the panel is not in view, a notification too.
    const toasts = new Map<string, string>();
    const panelShown = (): boolean => {
      const panel = document.getElementById('jupyter-duel-sidebar');
      return !!panel && panel.offsetParent !== null;
    };
    client.challengeOffer.connect((_, state: IOfferState) => {
      const offer = state.offer;
      const toast = toasts.get(offer.offer_id);
      if (offer.status !== 'offered') {
        if (toast) {
          Notification.dismiss(toast);
          toasts.delete(offer.offer_id);
        }
        return;
      }
      if (!state.incoming || toast || panelShown()) {
        return;
      }
      const answer = (accept: boolean) => {
        toasts.delete(offer.offer_id);
        void client.answerChallenge(offer.offer_id, accept).then(ack => {
          if (!ack.ok) {
            Notification.error(`Duel: ${ack.error?.message ?? 'the answer was refused'}`, { autoClose: 6000 });
          }
        });
      };
      const id = Notification.info(`${offerHeadline(state)} (${offerKind(offer)}).`, {
        autoClose: false,
        actions: [
          { label: 'Accept', displayType: 'accent', callback: () => answer(true) },
          { label: 'Decline', callback: () => answer(false) }
        ]
      });
      toasts.set(offer.offer_id, id);
    });

    const canRematch = (): boolean => {
      const battle = client.battle;
      const busy = client.queue !== null || (battle !== null && battle.complete === null);
      return client.connectionState === 'connected' && client.lastOpponent !== null && !busy;
    };
    app.commands.addCommand(CommandIDs.rematch, {
      label: () => (client.lastOpponent ? `Offer ${client.lastOpponent.display_name} a Rematch` : 'Offer a Rematch'),
      caption: 'Challenge the opponent of your last duel again',
      isEnabled: canRematch,
      execute: async () => {
        const ack = await client.rematch();
        if (!ack.ok) {
          Notification.error(`Duel: ${ack.error?.message ?? 'the rematch offer was refused'}`, { autoClose: 6000 });
        }
      }
    });
    palette?.addItem({ command: CommandIDs.rematch, category: PALETTE_CATEGORY });
  }
};

const classViewPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-duel:class-view',
  description: 'Instructors: the class view of every running duel, the queue and the class controls.',
  autoStart: true,
  requires: [IDuelClient],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, client: IDuelClient, palette: ICommandPalette | null): void => {
    let view: ClassView | null = null;
    app.commands.addCommand(CommandIDs.openClassView, {
      label: 'Open Class View',
      caption: 'Instructors: every running duel live, the queue, pairing, class settings and results',
      isVisible: () => client.instructor,
      isEnabled: () => client.instructor,
      execute: () => {
        if (!client.instructor) {
          return;
        }
        if (!view || view.isDisposed) {
          view = new ClassView({ client, commands: app.commands });
        }
        if (!view.isAttached) {
          app.shell.add(view, 'main', { mode: 'tab-after' });
        }
        app.shell.activateById(view.id);
      }
    });
    palette?.addItem({ command: CommandIDs.openClassView, category: PALETTE_CATEGORY });
  }
};

const spectatePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-duel:spectate',
  description: 'Instructors: follow a running duel live, both codes side by side.',
  autoStart: true,
  requires: [IDuelClient, IEditorServices, IRenderMimeRegistry],
  activate: (
    app: JupyterFrontEnd,
    client: IDuelClient,
    editorServices: IEditorServices,
    rendermime: IRenderMimeRegistry
  ): void => {
    const views = new Map<string, SpectateView>();
    app.commands.addCommand(CommandIDs.spectate, {
      label: args => (args.label ? `Spectate ${args.label as string}` : 'Spectate Duel'),
      caption: 'Instructors: follow both codes of a duel live',
      isEnabled: args => client.instructor && typeof args.battleId === 'string',
      execute: args => {
        const battleId = args.battleId as string;
        let view = views.get(battleId);
        if (!view || view.isDisposed) {
          view = new SpectateView({
            battleId,
            client,
            editorServices,
            rendermime,
            label: typeof args.label === 'string' ? args.label : undefined
          });
          views.set(battleId, view);
          view.disposed.connect(() => views.delete(battleId));
          app.shell.add(view, 'main', { mode: 'tab-after' });
        }
        app.shell.activateById(view.id);
      }
    });
  }
};

const reviewPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-duel:review',
  description: 'A finished duel’s review and replay, and share links that open it.',
  autoStart: true,
  requires: [IDuelClient],
  optional: [ICommandPalette, IRouter],
  activate: (app: JupyterFrontEnd, client: IDuelClient, palette: ICommandPalette | null, router: IRouter | null): void => {
    const views = new Map<string, ReplayView>();
    const open = (battleId: string): void => {
      let view = views.get(battleId);
      if (!view || view.isDisposed) {
        const created = new ReplayView({ battleId, client });
        views.set(battleId, created);
        created.disposed.connect(() => views.delete(battleId));
        view = created;
      }
      const shown = view;
      // Before the layout is restored the main area is not ready (and would be reset by the restorer).
      void app.restored.then(() => {
        if (shown.isDisposed) {
          return;
        }
        if (!shown.isAttached) {
          app.shell.add(shown, 'main', { mode: 'tab-after' });
        }
        app.shell.activateById(shown.id);
      });
    };
    app.commands.addCommand(CommandIDs.openReview, {
      label: args => (typeof args.battleId === 'string' ? 'Review Duel' : 'Open Duel Review…'),
      caption: 'A finished duel: both codes, every submission and a replay of the typing',
      execute: async args => {
        let battleId: string | null = typeof args.battleId === 'string' ? reviewTarget(args.battleId) : null;
        if (battleId === null && typeof args.search === 'string') {
          // Opened by the router from a share link: the id is in the query, which is then taken off the URL.
          battleId = reviewTarget(args.search);
          const url = new URL(window.location.href);
          url.searchParams.delete(REVIEW_PARAM);
          window.history.replaceState(window.history.state, '', url.href);
        } else if (battleId === null) {
          const answer = await InputDialog.getText({
            title: 'Open Duel Review',
            label: 'Duel id or share link',
            placeholder: 'lab?duel-review=…'
          });
          battleId = answer.button.accept && answer.value ? reviewTarget(answer.value) : null;
          if (answer.button.accept && battleId === null) {
            Notification.error('Duel: this is neither a duel id nor a review link.', { autoClose: 6000 });
          }
        }
        if (battleId) {
          open(battleId);
        }
      }
    });
    router?.register({ command: CommandIDs.openReview, pattern: new RegExp(`[?&]${REVIEW_PARAM}=`), rank: 40 });
    palette?.addItem({ command: CommandIDs.openReview, category: PALETTE_CATEGORY });
  }
};

const notebookPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-duel:notebook',
  description: 'The notebook as a duel partner: scratch notebook, cell to duel editor, duel export.',
  autoStart: true,
  requires: [IDuelClient],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, client: IDuelClient, palette: ICommandPalette | null): void => {
    /** The duel view of `battleId`, if it is open. */
    const viewOf = (battleId: string): DuelView | null => {
      for (const widget of app.shell.widgets('main')) {
        if (widget instanceof DuelView && widget.battleId === battleId) {
          return widget;
        }
      }
      return null;
    };

    /** The view of this tab's battle (running or just finished), if it is open. */
    const battleView = (): DuelView | null => (client.battle ? viewOf(client.battle.match.battle_id) : null);
    const runningView = (): DuelView | null => {
      const view = battleView();
      return view && !view.isOver ? view : null;
    };
    const fail = (what: string, reason: unknown): void => {
      const message = reason instanceof Error ? reason.message : String(reason);
      Notification.error(`Duel: ${what} failed: ${message}`, { autoClose: 8000 });
    };

    app.commands.addCommand(CommandIDs.openScratchNotebook, {
      label: 'Open Duel in a Notebook',
      caption: 'A scratch notebook with the statement, your code and the samples, in your own Python kernel',
      // With `battleId`: that duel's view (a button in it); without: this tab's current duel.
      isEnabled: args => (typeof args.battleId === 'string' ? viewOf(args.battleId) !== null : client.battle !== null),
      execute: async args => {
        const asked = typeof args.battleId === 'string';
        const view = asked ? viewOf(args.battleId as string) : battleView();
        const challenge = asked ? view?.challenge : (view?.challenge ?? client.battle?.match.challenge);
        if (!challenge) {
          return;
        }
        try {
          await openScratchNotebook(app, challenge, view?.code ?? challenge.starter_code);
        } catch (reason) {
          fail('opening the scratch notebook', reason);
        }
      }
    });
    app.commands.addCommand(CommandIDs.sendCellToDuel, {
      label: 'Send Cell to Duel Editor',
      caption: 'Replace the code in the running duel’s editor with this cell’s code',
      isEnabled: () => runningView() !== null && activeCellSource(app.shell.currentWidget) !== null,
      execute: () => {
        const view = runningView();
        const source = activeCellSource(app.shell.currentWidget);
        if (!view || source === null) {
          return;
        }
        if (view.replaceCode(source)) {
          Notification.info('Cell sent to the duel editor.', { autoClose: 3000 });
        } else {
          Notification.warning('The duel editor is read-only until the duel starts.', { autoClose: 5000 });
        }
      }
    });
    app.commands.addCommand(CommandIDs.exportDuel, {
      label: 'Export Duel to Notebook',
      caption: 'Save a finished duel (statement, both solutions, results, ratings) as a notebook in your files',
      isEnabled: args => typeof args.battleId === 'string' || !!client.battle?.complete,
      execute: async args => {
        const battleId =
          typeof args.battleId === 'string'
            ? args.battleId
            : client.battle?.complete
              ? client.battle.match.battle_id
              : null;
        if (!battleId) {
          return;
        }
        try {
          const path = await exportDuel(app, client, battleId);
          Notification.success(`Duel exported to ${path}.`, { autoClose: 5000 });
        } catch (reason) {
          fail('the export', reason);
        }
      }
    });
    app.contextMenu.addItem({ command: CommandIDs.sendCellToDuel, selector: '.jp-Notebook .jp-Cell', rank: 100 });
    for (const command of [CommandIDs.openScratchNotebook, CommandIDs.sendCellToDuel, CommandIDs.exportDuel]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
};

export default [
  clientPlugin,
  sidebarPlugin,
  duelViewPlugin,
  commandsPlugin,
  historyPlugin,
  challengesPlugin,
  classViewPlugin,
  spectatePlugin,
  reviewPlugin,
  notebookPlugin
];

/** Command ids, in one place so menus, the palette, key bindings and tests agree. */
export namespace CommandIDs {
  export const findOpponent = 'duel:find-opponent';
  export const cancelSearch = 'duel:cancel-search';
  export const submit = 'duel:submit';
  export const runSamples = 'duel:run-samples';
  export const forfeit = 'duel:forfeit';
  export const openPanel = 'duel:open-panel';
  /** Bring the running duel's view to the front (used by the sidebar). */
  export const showDuel = 'duel:show-duel';
  /** The main-area history / rating chart / leaderboard widget. */
  export const openHistory = 'duel:open-history';
  /** Instructors: the main-area class view (running duels, queue, class controls). */
  export const openClassView = 'duel:open-class-view';
  /** Instructors: follow one battle live (args: `battleId`, optional `label`). */
  export const spectate = 'duel:spectate';
  /** Show the sidebar's "Challenge a player" card. */
  export const challengePlayer = 'duel:challenge-player';
  /** Offer a rematch to the last opponent. */
  export const rematch = 'duel:rematch';
  /** A finished battle's review and replay (args: `battleId`; from a share link, the router's location). */
  export const openReview = 'jupyter-duel:open-review';
  /** Mute or unmute the quick messages between players (kept in the preferences). */
  export const toggleQuickMessages = 'duel:toggle-quick-messages';
  /** Say one quick message to the opponent (args: `reaction`). */
  export const quickMessage = 'duel:quick-message';
  /** The running duel's scratch notebook, in the player's own Jupyter and python3 kernel. */
  export const openScratchNotebook = 'jupyter-duel:open-scratch-notebook';
  /** Replace the running duel's editor text with the active notebook cell's source. */
  export const sendCellToDuel = 'jupyter-duel:send-cell-to-duel';
  /** Save a finished duel as a notebook in the player's file tree (args: `battleId`). */
  export const exportDuel = 'jupyter-duel:export-duel';
  /** Bring the Duel panel's Tournaments card into view. */
  export const openTournaments = 'duel:open-tournaments';
  /** Enter a tournament (args: optional `tournamentId` and `name`; without: pick one from a list). */
  export const joinTournament = 'duel:join-tournament';
  /** Withdraw from the tournament the player is in (asked first). */
  export const leaveTournament = 'duel:leave-tournament';
}

export const PALETTE_CATEGORY = 'Duel';

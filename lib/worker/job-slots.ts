/**
 * The worker's job slots: how many jobs may run at once (`capacity`, the worker's
 * `concurrency`), which connection holds each slot, and the fair hand-off of a freed slot to the
 * next connection that has work.
 *
 * A slot is held from the GRAB that asks for a job until that job has settled (or the GRAB was
 * answered NO_JOB). So the worker never asks for more jobs than it can start: a job assigned to
 * it always has a free slot (no prefetching, which would starve other workers).
 *
 * Each connection is a lane with three facts: `awake` (its server said there is work: a NOOP, or
 * the last GRAB got a job; cleared by NO_JOB), `grabs` (GRABs sent, not answered yet) and `jobs`
 * (jobs assigned on it, still running). A lane that is not awake and has no GRAB out has sent
 * PRE_SLEEP, so its server wakes it with a NOOP. {@link JobSlots.fill} hands free slots to awake
 * lanes in round-robin order, starting after the lane served last.
 *
 * Changing how many jobs a worker runs at once is changing {@link JobSlots.capacity}.
 *
 * @module
 * @internal
 */

/** What a lane needs from its connection handler. @internal */
export interface SlotLane {
  /** The connection is still the handler's (not lost or closed). */
  readonly live: boolean;
  /** Sends one GRAB (GRAB_JOB_UNIQ, or GRAB_JOB on servers without it). */
  grab(): void;
  /** Sends PRE_SLEEP. */
  sleep(): void;
}

/** One connection's share of the slots. @internal */
export class LaneState {
  /** Its server said there is work (NOOP, or the last answer was a job); cleared by NO_JOB. */
  awake = false;
  /** GRABs sent and not answered yet (each holds a slot). */
  grabs = 0;
  /** Jobs assigned on this lane and still running (each holds a slot). */
  jobs = 0;
  /** Slots taken through the python-gearman style setJobLock(). */
  manual = 0;

  /** Slots this lane holds. */
  get held(): number {
    return this.grabs + this.jobs + this.manual;
  }
}

/**
 * The slots of one worker, across all its connections.
 *
 * @typeParam L - the lane type (the worker's command handler)
 * @internal
 */
export class JobSlots<L extends SlotLane> {
  /** How many jobs may run (or be asked for) at once. */
  capacity: number;
  /**
   * How many slots one lane may hold at once (Infinity: no limit). The worker sets 1 while a task
   * with a CAN_DO_TIMEOUT is registered (gearmand keeps one timer per connection).
   */
  perLaneLimit = Infinity;
  /** Whether new GRABs may be sent (false while the worker stops or does not work). */
  accepting: () => boolean = () => true;
  /** Called whenever the last held slot frees (the worker ends a graceful stop there). */
  onIdle: () => void = () => undefined;
  private readonly lanes = new Map<L, LaneState>();
  /** The lanes in the order they were added (kept so fill() allocates nothing). */
  private order: L[] = [];
  /** The lane that got the last slot (round-robin cursor). */
  private last: L | undefined;
  private usedCount = 0;
  private runningCount = 0;

  /** @param capacity - slots (>= 1) */
  constructor(capacity = 1) {
    this.capacity = capacity;
  }

  /** Slots held: GRABs out, running jobs and manual locks. */
  get used(): number {
    return this.usedCount;
  }

  /** Jobs running now. */
  get running(): number {
    return this.runningCount;
  }

  /** Free slots. */
  get free(): number {
    return Math.max(0, this.capacity - this.usedCount);
  }

  /** A lane's state (undefined for a lane not added or already removed). */
  state(lane: L): LaneState | undefined {
    return this.lanes.get(lane);
  }

  /** Every lane, in the order they were added. */
  laneList(): L[] {
    return this.order.slice();
  }

  /** A new connection: asleep (its handler sends PRE_SLEEP after registering). */
  add(lane: L): void {
    if (this.lanes.has(lane)) return;
    this.lanes.set(lane, new LaneState());
    this.order.push(lane);
  }

  /**
   * A lane's connection is gone. Its GRABs will never be answered: their slots free now. Its
   * running jobs keep their slots until they settle ({@link finished}), so no more jobs run at
   * once than `capacity` even across a reconnect.
   */
  remove(lane: L): void {
    const state = this.lanes.get(lane);
    if (state === undefined) return;
    this.usedCount -= state.grabs + state.manual;
    state.grabs = 0;
    state.manual = 0;
    state.awake = false;
    if (state.jobs === 0) this.forget(lane);
    if (this.last === lane) this.last = undefined;
    this.fill();
    this.idleCheck();
  }

  /** NOOP on `lane`: its server has work. */
  woken(lane: L): void {
    const state = this.lanes.get(lane);
    if (state === undefined) return;
    state.awake = true;
    this.fill();
  }

  /**
   * NO_JOB on `lane`: one GRAB answered with nothing. Returns false if no GRAB was out (a
   * protocol error). Once no GRAB is left out the lane sleeps (PRE_SLEEP).
   */
  noJob(lane: L): boolean {
    const state = this.lanes.get(lane);
    if (state === undefined || state.grabs === 0) return false;
    state.grabs--;
    this.usedCount--;
    state.awake = false;
    if (state.grabs === 0 && lane.live) lane.sleep();
    this.fill();
    this.idleCheck();
    return true;
  }

  /** A GRAB on `lane` was refused (an ERROR answer): its slot frees, nothing else changes. */
  grabRefused(lane: L): boolean {
    const state = this.lanes.get(lane);
    if (state === undefined || state.grabs === 0) return false;
    state.grabs--;
    this.usedCount--;
    this.idleCheck();
    return true;
  }

  /**
   * A job was assigned on `lane`: the GRAB's slot now holds a running job. Returns false if no
   * GRAB was out (the job was not asked for).
   */
  assigned(lane: L): boolean {
    const state = this.lanes.get(lane);
    if (state === undefined || state.grabs === 0) return false;
    state.grabs--;
    state.jobs++;
    state.awake = true;
    this.runningCount++;
    return true;
  }

  /** A job of `lane` settled: its slot frees. Does not hand the slot on (call {@link fill}). */
  finished(lane: L): void {
    const state = this.lanes.get(lane);
    if (state === undefined || state.jobs === 0) return;
    state.jobs--;
    this.runningCount--;
    this.usedCount--;
    if (state.held === 0 && !lane.live) this.forget(lane);
    this.idleCheck();
  }

  private forget(lane: L): void {
    this.lanes.delete(lane);
    const i = this.order.indexOf(lane);
    if (i !== -1) this.order.splice(i, 1);
  }

  /** Takes a slot for `lane` without a GRAB (python-gearman's `set_job_lock(handler, true)`). */
  take(lane: L): boolean {
    const state = this.lanes.get(lane);
    if (state === undefined || !lane.live || this.usedCount >= this.capacity) return false;
    state.manual++;
    this.usedCount++;
    return true;
  }

  /** Gives back a slot taken with {@link take}. */
  release(lane: L): boolean {
    const state = this.lanes.get(lane);
    if (state === undefined || state.manual === 0) return false;
    state.manual--;
    this.usedCount--;
    this.fill();
    this.idleCheck();
    return true;
  }

  private idleCheck(): void {
    if (this.usedCount === 0) this.onIdle();
  }

  /**
   * Hands every free slot to an awake lane, one GRAB each, in round-robin order after the lane
   * served last. Does nothing while not {@link accepting}.
   */
  fill(): void {
    if (this.usedCount >= this.capacity || !this.accepting()) return;
    const lanes = this.order;
    const n = lanes.length;
    if (n === 0) return;
    // One lane (one server): no order to keep.
    if (n === 1) {
      const lane = lanes[0]!;
      const state = this.lanes.get(lane)!;
      while (this.usedCount < this.capacity && this.eligible(lane, state)) this.give(lane, state);
      return;
    }
    let start = this.last === undefined ? 0 : lanes.indexOf(this.last) + 1;
    while (this.usedCount < this.capacity) {
      let given = false;
      for (let i = 0; i < n && this.usedCount < this.capacity; i++) {
        const lane = lanes[(start + i) % n]!;
        const state = this.lanes.get(lane)!;
        if (!this.eligible(lane, state)) continue;
        this.give(lane, state);
        given = true;
      }
      if (!given) return;
      start = lanes.indexOf(this.last!) + 1;
    }
  }

  private eligible(lane: L, state: LaneState): boolean {
    return state.awake && lane.live && state.held < this.perLaneLimit;
  }

  private give(lane: L, state: LaneState): void {
    state.grabs++;
    this.usedCount++;
    this.last = lane;
    lane.grab();
  }
}

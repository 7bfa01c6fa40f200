import type { GenerationEvent } from '../../runtime/engine/api.ts';

type TokenEvent = Extract<GenerationEvent, { type: 'token' }>;
type FinishEvent = Extract<GenerationEvent, { type: 'finish' }>;

export interface ChoiceState {
  text: string;
  tokens: TokenEvent[];
  finishReason: FinishEvent['reason'] | null;
}

/** Gathers the events of n samples into whole choices, for non-streaming answers. */
export class ChoiceAccumulator {
  readonly choices: ChoiceState[];
  promptTokens = 0;
  completionTokens = 0;

  constructor(n: number) {
    this.choices = [];
    for (let i = 0; i < n; i++) this.choices.push({ text: '', tokens: [], finishReason: null });
  }

  add(ev: TokenEvent | FinishEvent): void {
    const choice = this.choices[ev.index]!;
    if (ev.type === 'token') {
      choice.text += ev.text;
      choice.tokens.push(ev);
    } else {
      choice.text += ev.text;
      choice.finishReason = ev.reason;
      this.promptTokens = ev.promptTokens;
      this.completionTokens += ev.completionTokens;
    }
  }
}

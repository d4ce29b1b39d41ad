/**
 * The rule compiler: turns policy and profile resources into what the graph's nodes work
 * with (a parsed selector, the ordering fields, resolved rules with the IP sets they need).
 * It exists so that parsing happens once per update, through one selector cache shared by
 * every policy and profile (a cluster repeats the same selector texts many times), and so that
 * an invalid resource becomes "missing" with one warning in one place (spec 5.16).
 * Private to src/calc.
 */
import type { Logger } from "../log/logger.ts";
import { quote } from "../log/quote.ts";
import type { PolicyResource, Rule } from "../model/resources.ts";
import { tagSelector } from "../selector/labels.ts";
import { parseSelector, type Selector } from "../selector/mod.ts";
import { errorMessage } from "../util/error_message.ts";
import { governs, type PolicyPlacement } from "./policy_order.ts";
import { type ResolvedRules, resolveRules, type SelectorSource } from "./resolve_rules.ts";

/** A policy as the graph keeps it. */
export interface CompiledPolicy {
  readonly selector: Selector;
  readonly placement: PolicyPlacement;
  readonly rules: ResolvedRules;
}

/** A profile's rules as the datastore hands them over. */
export interface ProfileRules {
  readonly ingress: readonly Rule[];
  readonly egress: readonly Rule[];
}

const SELECTOR_CACHE_LIMIT = 50_000;

/** See the module comment. */
export class RuleCompiler {
  readonly #cache = new Map<string, Selector>();
  readonly #src: SelectorSource = {
    selector: (text) => this.#parse(text),
    tag: (tag) => this.#parse(tagSelector(tag)),
  };

  constructor(private readonly log: Logger) {}

  /** Compiles a policy; a bad selector anywhere makes the whole policy missing (5.16). */
  policy(name: string, value: PolicyResource): CompiledPolicy | undefined {
    const s = value.spec;
    const placement: PolicyPlacement = {
      name,
      ...(s.order === undefined ? {} : { order: s.order }),
      ...(s.types === undefined ? {} : { types: s.types }),
      ...(s.doNotTrack === undefined ? {} : { doNotTrack: s.doNotTrack }),
      ...(s.preDNAT === undefined ? {} : { preDNAT: s.preDNAT }),
    };
    // Rules of a direction the policy does not govern are never rendered, so they are
    // dropped here and their selectors do not become IP sets.
    const inRules: readonly Rule[] = governs(placement, "ingress") ? s.ingress ?? [] : [];
    const outRules: readonly Rule[] = governs(placement, "egress") && !s.preDNAT
      ? s.egress ?? []
      : [];
    try {
      const rules = resolveRules(inRules, outRules, this.#src);
      return {
        selector: this.#parse(s.selector),
        placement,
        rules: s.applyOnForward === false
          ? { ...rules, ruleSet: { ...rules.ruleSet, notOnForward: true } }
          : rules,
      };
    } catch (err) {
      this.log.warning(
        `Policy ${quote(name)} has an invalid selector (${errorMessage(err)}); ` +
          "treating it as missing",
      );
      return undefined;
    }
  }

  /** Compiles a profile's rules; undefined when absent or invalid (deny-all stand-in). */
  profileRules(name: string, value: ProfileRules | null): ResolvedRules | undefined {
    if (value === null) return undefined;
    try {
      return resolveRules(value.ingress, value.egress, this.#src);
    } catch (err) {
      this.log.warning(
        `Profile ${quote(name)} has an invalid rule selector (${errorMessage(err)}); ` +
          "treating it as missing",
      );
      return undefined;
    }
  }

  #parse(text: string): Selector {
    let s = this.#cache.get(text);
    if (!s) {
      s = parseSelector(text);
      if (this.#cache.size >= SELECTOR_CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(text, s);
    }
    return s;
  }
}

//! Literal `matches()` patterns, compiled once at load.
//!
//! CEL's `matches()` compiles its pattern on every call: about 15 µs, twice
//! the cost of a whole typical policy. Each `s.matches("…")` or
//! `matches(s, "…")` with a literal pattern is rewritten to call a function
//! bound to the pattern compiled here, with the same engine and semantics.
//! A pattern that is not a literal is left to CEL.

use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::{Context, ExecutionError, Value};
use regex::Regex;

use super::PolicyError;

/// The patterns of one document, each once.
#[derive(Default)]
pub(super) struct Patterns {
    compiled: Vec<(String, Regex)>,
}

impl Patterns {
    /// Rewrites the literal `matches()` calls in `expr`, compiling their
    /// patterns; an invalid pattern refuses the rule.
    pub fn rewrite(&mut self, rule: &str, expr: &mut IdedExpr) -> Result<(), PolicyError> {
        if let Expr::Call(call) = &mut expr.expr
            && let Some((subject, pattern)) = literal_matches(call)
        {
            call.func_name = self.function_for(rule, &pattern)?;
            call.args = vec![subject];
        }
        // Recursion is bounded by the depth check that ran first.
        match &mut expr.expr {
            Expr::Unspecified | Expr::Literal(_) | Expr::Ident(_) => Ok(()),
            Expr::Select(select) => self.rewrite(rule, &mut select.operand),
            Expr::Call(call) => {
                if let Some(target) = &mut call.target {
                    self.rewrite(rule, target)?;
                }
                call.args.iter_mut().try_for_each(|a| self.rewrite(rule, a))
            }
            Expr::List(list) => list
                .elements
                .iter_mut()
                .try_for_each(|e| self.rewrite(rule, e)),
            Expr::Map(map) => map
                .entries
                .iter_mut()
                .try_for_each(|e| self.entry(rule, &mut e.expr)),
            Expr::Struct(s) => s
                .entries
                .iter_mut()
                .try_for_each(|e| self.entry(rule, &mut e.expr)),
            Expr::Comprehension(comp) => [
                &mut comp.iter_range,
                &mut comp.accu_init,
                &mut comp.loop_cond,
                &mut comp.loop_step,
                &mut comp.result,
            ]
            .into_iter()
            .try_for_each(|e| self.rewrite(rule, e)),
        }
    }

    fn entry(&mut self, rule: &str, entry: &mut EntryExpr) -> Result<(), PolicyError> {
        match entry {
            EntryExpr::StructField(field) => self.rewrite(rule, &mut field.value),
            EntryExpr::MapEntry(entry) => {
                self.rewrite(rule, &mut entry.key)?;
                self.rewrite(rule, &mut entry.value)
            }
        }
    }

    /// The name of the function that matches `pattern`, compiling it if new.
    fn function_for(&mut self, rule: &str, pattern: &str) -> Result<String, PolicyError> {
        let index = match self.compiled.iter().position(|(p, _)| p == pattern) {
            Some(index) => index,
            None => {
                let regex = Regex::new(pattern).map_err(|e| PolicyError::InvalidRegex {
                    rule: rule.to_owned(),
                    pattern: pattern.to_owned(),
                    message: e.to_string(),
                })?;
                self.compiled.push((pattern.to_owned(), regex));
                self.compiled.len() - 1
            }
        };
        Ok(function_name(index))
    }

    /// Binds each compiled pattern's function in `root`.
    pub fn install(self, root: &mut Context<'_, '_>) -> Result<(), PolicyError> {
        for (index, (_, regex)) in self.compiled.into_iter().enumerate() {
            let name = function_name(index);
            let matches = move |subject: Value| match subject {
                Value::String(subject) => Ok(regex.is_match(&subject)),
                // The error CEL's own `matches()` gives.
                other => Err(ExecutionError::no_such_member_overload(
                    "matches",
                    vec![other.type_of().to_string(), "string".to_owned()],
                )),
            };
            root.add_function(&name, matches)
                .map_err(|e| PolicyError::Engine(e.to_string()))?;
        }
        Ok(())
    }
}

/// The subject and pattern of `s.matches("…")` or `matches(s, "…")`, taken
/// out of the call; `None`, leaving the call as it is, for any other call.
fn literal_matches(call: &mut CallExpr) -> Option<(IdedExpr, String)> {
    if call.func_name != "matches" {
        return None;
    }
    let pattern = match (&call.target, call.args.as_slice()) {
        (Some(_), [pattern]) | (None, [_, pattern]) => match &pattern.expr {
            Expr::Literal(LiteralValue::String(pattern)) => pattern.inner().to_owned(),
            _ => return None,
        },
        _ => return None,
    };
    let subject = match call.target.take() {
        Some(target) => *target,
        None => call.args.swap_remove(0),
    };
    Some((subject, pattern))
}

/// Not a CEL identifier, so no expression can call the function directly.
fn function_name(index: usize) -> String {
    format!("matches#{index}")
}

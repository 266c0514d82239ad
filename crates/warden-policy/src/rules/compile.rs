//! From a rule as written to a rule ready to run: parse the expression, then
//! check every name in it against the variables we bind, so a typo fails the
//! load instead of denying (or, worse, not denying) at run time.

use cel::Env;
use cel::common::ast::{EntryExpr, Expr, IdedExpr};

use super::PolicyError;
use super::config::{Effect, RuleConfig};
use super::patterns::Patterns;
use super::vars::{CALLER_FIELDS, PART_FIELDS, Var, VarSet};

/// At most this many levels of expression tree. CEL evaluation recurses once
/// or more per level, and a debug build uses about 40 KiB of stack per level:
/// 32 levels stay well within a 2 MiB thread stack (tokio's default), which
/// overflowed at about 50. Real rules are rarely 10 deep.
pub const MAX_DEPTH: usize = 32;

/// A rule whose expression parsed and whose names all resolve.
#[derive(Debug)]
pub(super) struct CompiledRule {
    pub name: String,
    pub effect: Effect,
    pub when: String,
    pub description: Option<String>,
    /// The parsed expression, with literal `matches()` patterns precompiled.
    pub expr: IdedExpr,
    /// The variables the expression reads, so each call binds only those.
    pub uses: VarSet,
}

pub(super) fn compile(
    env: &Env,
    patterns: &mut Patterns,
    rule: RuleConfig,
) -> Result<CompiledRule, PolicyError> {
    let program = env.compile(&rule.when).map_err(|errors| {
        // The parser reports 1-based positions within the expression.
        let first = errors.errors.first();
        let (line, column) = first.map_or((0, 0), |e| e.pos);
        PolicyError::Syntax {
            rule: rule.name.clone(),
            line: usize::try_from(line).unwrap_or(0),
            column: usize::try_from(column).unwrap_or(0),
            message: first.map_or_else(|| errors.to_string(), |e| e.msg.clone()),
        }
    })?;
    let mut checker = Checker {
        env,
        rule: &rule.name,
        scope: Vec::new(),
        uses: VarSet::default(),
    };
    checker.walk(program.expression(), 1)?;
    let uses = checker.uses;
    let mut expr = program.expression().clone();
    patterns.rewrite(&rule.name, &mut expr)?;
    Ok(CompiledRule {
        name: rule.name,
        effect: rule.effect,
        when: rule.when,
        description: rule.description,
        expr,
        uses,
    })
}

/// What a name is known to hold, as far as the checker can tell without a
/// type checker: enough to catch `caller.subjet` and `p.knd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Caller,
    PartList,
    Part,
    Other,
}

struct Checker<'a> {
    env: &'a Env,
    rule: &'a str,
    /// Names bound by enclosing comprehensions (`p` in `parts.exists(p, …)`),
    /// innermost last: they shadow the variables.
    scope: Vec<(&'a str, Shape)>,
    uses: VarSet,
}

impl<'a> Checker<'a> {
    /// Checks `expr`, which is `depth` levels deep. Recursion is bounded by
    /// the parser's nesting limit, and stops at [`MAX_DEPTH`].
    fn walk(&mut self, expr: &'a IdedExpr, depth: usize) -> Result<(), PolicyError> {
        if depth > MAX_DEPTH {
            return Err(PolicyError::TooDeep {
                rule: self.rule.to_owned(),
                max: MAX_DEPTH,
            });
        }
        let next = depth + 1;
        match &expr.expr {
            Expr::Unspecified | Expr::Literal(_) => Ok(()),
            Expr::Ident(name) => self.ident(name),
            Expr::Select(select) => {
                self.check_field(&select.operand, &select.field)?;
                self.walk(&select.operand, next)
            }
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.walk(target, next)?;
                }
                call.args.iter().try_for_each(|arg| self.walk(arg, next))
            }
            Expr::List(list) => list.elements.iter().try_for_each(|e| self.walk(e, next)),
            Expr::Map(map) => map
                .entries
                .iter()
                .try_for_each(|e| self.entry(&e.expr, next)),
            Expr::Struct(s) => s.entries.iter().try_for_each(|e| self.entry(&e.expr, next)),
            Expr::Comprehension(comp) => {
                self.walk(&comp.iter_range, next)?;
                self.walk(&comp.accu_init, next)?;
                let element = match self.shape(&comp.iter_range) {
                    Shape::PartList => Shape::Part,
                    _ => Shape::Other,
                };
                let outer = self.scope.len();
                // With two variables over a list, the first is the index.
                match &comp.iter_var2 {
                    Some(value) => {
                        self.scope.push((&comp.iter_var, Shape::Other));
                        self.scope.push((value, element));
                    }
                    None => self.scope.push((&comp.iter_var, element)),
                }
                self.scope.push((&comp.accu_var, Shape::Other));
                let body = [&comp.loop_cond, &comp.loop_step, &comp.result];
                let checked = body.into_iter().try_for_each(|e| self.walk(e, next));
                self.scope.truncate(outer);
                checked
            }
        }
    }

    fn entry(&mut self, entry: &'a EntryExpr, depth: usize) -> Result<(), PolicyError> {
        match entry {
            EntryExpr::StructField(field) => self.walk(&field.value, depth),
            EntryExpr::MapEntry(entry) => {
                self.walk(&entry.key, depth)?;
                self.walk(&entry.value, depth)
            }
        }
    }

    fn ident(&mut self, name: &str) -> Result<(), PolicyError> {
        if self.bound(name).is_some() {
            return Ok(());
        }
        // A leading dot makes a name absolute; we have no container, so
        // `.agent` is `agent`.
        let global = name.strip_prefix('.').unwrap_or(name);
        if let Some(var) = Var::from_name(global) {
            self.uses.insert(var);
            return Ok(());
        }
        // Type names, as in `type(skill) == string`.
        if self.env.types().find_type(global).is_some() {
            return Ok(());
        }
        Err(PolicyError::UnknownVariable {
            rule: self.rule.to_owned(),
            name: name.to_owned(),
            known: Var::names(),
        })
    }

    fn bound(&self, name: &str) -> Option<Shape> {
        let (_, shape) = self.scope.iter().rev().find(|(bound, _)| *bound == name)?;
        Some(*shape)
    }

    fn shape(&self, expr: &IdedExpr) -> Shape {
        match &expr.expr {
            Expr::Ident(name) => self.bound(name).unwrap_or(match name.as_str() {
                "caller" | ".caller" => Shape::Caller,
                "parts" | ".parts" => Shape::PartList,
                _ => Shape::Other,
            }),
            // `parts[0]`
            Expr::Call(call) if call.func_name == "_[_]" => match call.args.first() {
                Some(list) if self.shape(list) == Shape::PartList => Shape::Part,
                _ => Shape::Other,
            },
            _ => Shape::Other,
        }
    }

    fn check_field(&self, operand: &IdedExpr, field: &str) -> Result<(), PolicyError> {
        let (variable, fields) = match self.shape(operand) {
            Shape::Caller => ("caller", CALLER_FIELDS),
            Shape::Part => ("a part", PART_FIELDS),
            Shape::PartList | Shape::Other => return Ok(()),
        };
        if fields.contains(&field) {
            return Ok(());
        }
        Err(PolicyError::UnknownField {
            rule: self.rule.to_owned(),
            variable: variable.to_owned(),
            field: field.to_owned(),
            known: fields.join(", "),
        })
    }
}

//! SQL text and its bound values, put together from fragments and built
//! for either engine: retention's conditions nest (a context is kept while
//! a kept task is in it), and each fragment carries its own cutoff, bound
//! where it stands rather than numbered by hand.

use sqlx::{Database, Encode, QueryBuilder, Type};

enum Piece {
    /// Text from this module's callers: constant fragments of `sweeps.rs`.
    Sql(String),
    Text(String),
    Int(i64),
}

/// SQL under construction: fragments of constant text and values to bind.
#[derive(Default)]
pub(super) struct Sql(Vec<Piece>);

impl Sql {
    pub(super) fn new(sql: &str) -> Self {
        Self(vec![Piece::Sql(sql.to_string())])
    }

    /// Appends constant SQL text (never a value: values go through
    /// [`Sql::text`] and [`Sql::int`]).
    pub(super) fn sql(mut self, sql: &str) -> Self {
        self.0.push(Piece::Sql(sql.to_string()));
        self
    }

    /// Appends a bound text value.
    pub(super) fn text(mut self, v: &str) -> Self {
        self.0.push(Piece::Text(v.to_string()));
        self
    }

    /// Appends a bound integer.
    pub(super) fn int(mut self, v: i64) -> Self {
        self.0.push(Piece::Int(v));
        self
    }

    /// Appends another fragment.
    pub(super) fn then(mut self, other: Sql) -> Self {
        self.0.extend(other.0);
        self
    }

    /// The query for one engine, each value bound in its place.
    pub(super) fn build<DB>(&self) -> QueryBuilder<DB>
    where
        DB: Database,
        DB::Arguments: Default,
        String: for<'q> Encode<'q, DB> + Type<DB>,
        i64: for<'q> Encode<'q, DB> + Type<DB>,
    {
        let mut q = QueryBuilder::new("");
        for piece in &self.0 {
            match piece {
                Piece::Sql(s) => q.push(s),
                Piece::Text(v) => q.push_bind(v.clone()),
                Piece::Int(v) => q.push_bind(*v),
            };
        }
        q
    }
}

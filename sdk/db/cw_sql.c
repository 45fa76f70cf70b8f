/*
 * cw_sql: conservative SQL statement classifier (see cw_sql.h).
 *
 * DESIGN. A statement is first cut into at most MAX_TOKENS tokens (a longer
 * statement is still walked to its end, but marked too long to infer), then
 * matched against fixed shapes by a tiny recursive-free matcher. Unquoted
 * identifiers and keywords are lowercased; quoted identifiers keep their
 * case. Anything unexpected makes the match fail, never guess.
 */
#include "cw_sql.h"

#include <string.h>

#define MAX_TOKENS 96
#define TOK_MAX 128

enum { T_IDENT = 1, T_QIDENT, T_STRING, T_NUMBER, T_PARAM, T_PUNCT };

typedef struct tok {
  int type;
  int param;    /* T_PARAM: 1-based index, -1 when named (unsupported) */
  int overlong; /* text did not fit */
  char text[TOK_MAX];
} tok;

typedef struct lexer {
  const char *s;
  size_t len, pos;
  int next_param; /* for bare '?' */
} lexer;

static int is_alpha(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c >= 0x80;
}

static int is_digit(int c) {
  return c >= '0' && c <= '9';
}

static int is_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

static void put_char(tok *t, size_t *n, char c) {
  if (*n + 1 < TOK_MAX)
    t->text[(*n)++] = c;
  else
    t->overlong = 1;
}

/* Skips blanks and comments. */
static void skip_blank(lexer *lx) {
  for (;;) {
    while (lx->pos < lx->len && is_space((unsigned char)lx->s[lx->pos]))
      lx->pos++;
    if (lx->pos + 1 < lx->len && lx->s[lx->pos] == '-' &&
        lx->s[lx->pos + 1] == '-') {
      while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
        lx->pos++;
      continue;
    }
    if (lx->pos + 1 < lx->len && lx->s[lx->pos] == '/' &&
        lx->s[lx->pos + 1] == '*') {
      lx->pos += 2;
      while (lx->pos + 1 < lx->len &&
             !(lx->s[lx->pos] == '*' && lx->s[lx->pos + 1] == '/'))
        lx->pos++;
      lx->pos = lx->pos + 2 <= lx->len ? lx->pos + 2 : lx->len;
      continue;
    }
    return;
  }
}

/* Reads a quoted run ending in `q`, where a doubled `q` is an escaped one. */
static void read_quoted(lexer *lx, tok *t, char q) {
  size_t n = 0;
  lx->pos++; /* opening quote */
  while (lx->pos < lx->len) {
    char c = lx->s[lx->pos++];
    if (c == q) {
      if (lx->pos < lx->len && lx->s[lx->pos] == q) {
        put_char(t, &n, q);
        lx->pos++;
        continue;
      }
      break;
    }
    put_char(t, &n, c);
  }
  t->text[n] = 0;
}

/* PostgreSQL dollar quoting: $$...$$ or $tag$...$tag$. Returns 1 when the
 * text at pos starts one (and consumes it as a string token). */
static int read_dollar_quote(lexer *lx, tok *t) {
  size_t p = lx->pos + 1;
  while (p < lx->len && (is_alpha((unsigned char)lx->s[p]) ||
                         is_digit((unsigned char)lx->s[p])))
    p++;
  if (p >= lx->len || lx->s[p] != '$')
    return 0;
  size_t taglen = p + 1 - lx->pos;
  const char *tag = lx->s + lx->pos;
  size_t n = 0;
  lx->pos = p + 1;
  while (lx->pos < lx->len) {
    if (lx->s[lx->pos] == '$' && lx->len - lx->pos >= taglen &&
        memcmp(lx->s + lx->pos, tag, taglen) == 0) {
      lx->pos += taglen;
      break;
    }
    put_char(t, &n, lx->s[lx->pos++]);
  }
  t->text[n] = 0;
  t->type = T_STRING;
  return 1;
}

/* Reads one token. @return 0 at the end of the statement (';' or input). */
static int next_token(lexer *lx, tok *t) {
  size_t n = 0;
  memset(t, 0, sizeof *t);
  skip_blank(lx);
  if (lx->pos >= lx->len)
    return 0;
  unsigned char c = (unsigned char)lx->s[lx->pos];
  if (c == ';') {
    lx->pos++;
    return 0;
  }
  if (is_alpha(c)) {
    t->type = T_IDENT;
    while (lx->pos < lx->len &&
           (is_alpha((unsigned char)lx->s[lx->pos]) ||
            is_digit((unsigned char)lx->s[lx->pos]) || lx->s[lx->pos] == '$')) {
      char ch = lx->s[lx->pos++];
      if (ch >= 'A' && ch <= 'Z')
        ch = (char)(ch - 'A' + 'a');
      put_char(t, &n, ch);
    }
    t->text[n] = 0;
    return 1;
  }
  if (c == '"' || c == '`' || c == '[') {
    t->type = T_QIDENT;
    read_quoted(lx, t, c == '[' ? ']' : (char)c);
    return 1;
  }
  if (c == '\'') {
    t->type = T_STRING;
    read_quoted(lx, t, '\'');
    return 1;
  }
  if (is_digit(c) || (c == '.' && lx->pos + 1 < lx->len &&
                      is_digit((unsigned char)lx->s[lx->pos + 1]))) {
    t->type = T_NUMBER;
    while (lx->pos < lx->len &&
           (is_digit((unsigned char)lx->s[lx->pos]) ||
            is_alpha((unsigned char)lx->s[lx->pos]) || lx->s[lx->pos] == '.'))
      put_char(t, &n, lx->s[lx->pos++]);
    t->text[n] = 0;
    return 1;
  }
  if (c == '$' && lx->pos + 1 < lx->len &&
      is_digit((unsigned char)lx->s[lx->pos + 1])) {
    long v = 0;
    t->type = T_PARAM;
    lx->pos++;
    while (lx->pos < lx->len && is_digit((unsigned char)lx->s[lx->pos])) {
      if (v < 100000)
        v = v * 10 + (lx->s[lx->pos] - '0');
      lx->pos++;
    }
    t->param = (int)v;
    return 1;
  }
  if (c == '$' && read_dollar_quote(lx, t))
    return 1;
  if (c == '?') {
    long v = 0;
    int digits = 0;
    t->type = T_PARAM;
    lx->pos++;
    while (lx->pos < lx->len && is_digit((unsigned char)lx->s[lx->pos])) {
      if (v < 100000)
        v = v * 10 + (lx->s[lx->pos] - '0');
      lx->pos++;
      digits = 1;
    }
    if (digits) {
      t->param = (int)v;
      if ((int)v > lx->next_param)
        lx->next_param = (int)v;
    } else {
      t->param = ++lx->next_param;
    }
    return 1;
  }
  if ((c == ':' || c == '@') && lx->pos + 1 < lx->len &&
      is_alpha((unsigned char)lx->s[lx->pos + 1])) {
    t->type = T_PARAM;
    t->param = -1;
    lx->pos++;
    while (lx->pos < lx->len && (is_alpha((unsigned char)lx->s[lx->pos]) ||
                                 is_digit((unsigned char)lx->s[lx->pos])))
      lx->pos++;
    return 1;
  }
  t->type = T_PUNCT;
  t->text[0] = (char)c;
  t->text[1] = 0;
  lx->pos++;
  return 1;
}

/* ---- Matching ------------------------------------------------------------ */

typedef struct stmt {
  tok t[MAX_TOKENS];
  int n;
  int toolong;
} stmt;

static int kw(const stmt *s, int i, const char *word) {
  return i < s->n && s->t[i].type == T_IDENT && strcmp(s->t[i].text, word) == 0;
}

static int punct(const stmt *s, int i, char c) {
  return i < s->n && s->t[i].type == T_PUNCT && s->t[i].text[0] == c;
}

static const char *const reserved[] = {"select",      "from",
                                       "where",       "update",
                                       "set",         "and",
                                       "or",          "not",
                                       "for",         "in",
                                       "is",          "null",
                                       "as",          "join",
                                       "on",          "limit",
                                       "order",       "group",
                                       "having",      "by",
                                       "returning",   "true",
                                       "false",       "like",
                                       "ilike",       "between",
                                       "case",        "when",
                                       "then",        "else",
                                       "end",         "exists",
                                       "distinct",    "current_timestamp",
                                       "current_date"};

/* An identifier usable as a name: a quoted identifier or a non-reserved
 * plain word. Copies it to out. */
static int name_at(const stmt *s, int i, char *out, size_t cap) {
  if (i >= s->n || s->t[i].overlong)
    return 0;
  if (s->t[i].type == T_IDENT) {
    for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
      if (strcmp(s->t[i].text, reserved[k]) == 0)
        return 0;
  } else if (s->t[i].type != T_QIDENT || s->t[i].text[0] == 0) {
    return 0;
  }
  size_t n = strlen(s->t[i].text);
  if (n >= cap)
    return 0;
  memcpy(out, s->t[i].text, n + 1);
  return 1;
}

/* Parses [schema.]table at i. @return the next index, or -1. */
static int table_at(const stmt *s, int i, char *out, size_t cap) {
  if (!name_at(s, i, out, cap))
    return -1;
  if (punct(s, i + 1, '.')) {
    /* schema-qualified: keep "schema.table" */
    char tail[CW_SQL_NAME_MAX];
    size_t a = strlen(out);
    if (!name_at(s, i + 2, tail, sizeof tail) || a + 1 + strlen(tail) >= cap)
      return -1;
    out[a] = '.';
    memcpy(out + a + 1, tail, strlen(tail) + 1);
    return i + 3;
  }
  return i + 1;
}

/* Adds column `name` to the statement's reads (once; not the key column).
 * @return 0, or -1 when the list is full. */
static int add_read(cw__sql_info *r, const char *name, const char *key_col) {
  if (key_col && strcmp(name, key_col) == 0)
    return 0;
  for (int k = 0; k < r->nreads; k++)
    if (strcmp(r->reads[k], name) == 0)
      return 0;
  if (r->nreads >= CW_SQL_MAX_COLS)
    return -1;
  memcpy(r->reads[r->nreads++], name, strlen(name) + 1);
  return 0;
}

/* Adds the columns named in tokens [i, end) to the reads: plain or quoted
 * names that are not a function call, keeping "col" of "t.col".
 * @return 0, or -1 for a shape that is not a simple expression of the row
 * (a subquery, OR, or too many columns). */
static int expr_reads(const stmt *s, int i, int end, cw__sql_info *r,
                      const char *key_col) {
  char name[CW_SQL_NAME_MAX];
  for (; i < end; i++) {
    if (kw(s, i, "select") || kw(s, i, "or"))
      return -1;
    if (!name_at(s, i, name, sizeof name))
      continue;
    if (punct(s, i + 1, '(') || punct(s, i + 1, '.'))
      continue; /* a function, or the table of "t.col" */
    if (add_read(r, name, key_col) != 0)
      return -1;
  }
  return 0;
}

/* Parses "[AND cond]..." at i, up to RETURNING, FOR or the end, adding the
 * columns the conditions read. @return the next index, or -1. */
static int where_conds_at(const stmt *s, int i, cw__sql_info *r,
                          const char *key_col) {
  while (kw(s, i, "and")) {
    int start = ++i, depth = 0;
    while (i < s->n) {
      if (punct(s, i, '('))
        depth++;
      else if (punct(s, i, ')'))
        depth--;
      else if (depth == 0 &&
               (kw(s, i, "and") || kw(s, i, "returning") || kw(s, i, "for")))
        break;
      i++;
    }
    if (i == start || depth != 0 || expr_reads(s, start, i, r, key_col) != 0)
      return -1;
  }
  return i;
}

/* Parses "WHERE k = v" at i into the key fields (the key column's name into
 * key_col). @return next index or -1. */
static int where_key_at(const stmt *s, int i, cw__sql_info *out,
                        char *key_col) {
  char col[CW_SQL_NAME_MAX];
  if (!kw(s, i, "where") || !name_at(s, i + 1, col, sizeof col))
    return -1;
  i += 2;
  if (punct(s, i, '.')) { /* table.col */
    if (!name_at(s, i + 1, col, sizeof col))
      return -1;
    i += 2;
  }
  if (!punct(s, i, '=') || punct(s, i + 1, '='))
    return -1;
  i++;
  if (i >= s->n || s->t[i].overlong)
    return -1;
  const tok *v = &s->t[i];
  if (v->type == T_STRING || v->type == T_NUMBER) {
    size_t n = strlen(v->text);
    if (n >= sizeof out->key)
      return -1;
    memcpy(out->key, v->text, n + 1);
    out->key_param = 0;
  } else if (v->type == T_PARAM && v->param > 0) {
    out->key[0] = 0;
    out->key_param = v->param;
  } else {
    return -1;
  }
  memcpy(key_col, col, strlen(col) + 1);
  return i + 1;
}

static void match_select(const stmt *s, cw__sql_info *out) {
  int i = 1;
  int ncols = 0;
  int star = 0;
  cw__sql_info r = *out;
  /* column list */
  for (;;) {
    if (punct(s, i, '*')) {
      star = 1;
      i++;
    } else {
      if (ncols >= CW_SQL_MAX_COLS ||
          !name_at(s, i, r.cols[ncols], sizeof r.cols[0]))
        return;
      i++;
      if (punct(s, i, '.')) { /* t.col */
        if (!name_at(s, i + 1, r.cols[ncols], sizeof r.cols[0]))
          return;
        i += 2;
      }
      ncols++;
    }
    if (!punct(s, i, ','))
      break;
    i++;
  }
  if (!kw(s, i, "from"))
    return;
  i = table_at(s, i + 1, r.table, sizeof r.table);
  if (i < 0)
    return;
  char key_col[CW_SQL_NAME_MAX];
  i = where_key_at(s, i, &r, key_col);
  if (i < 0)
    return;
  i = where_conds_at(s, i, &r, key_col);
  if (i < 0)
    return;
  if (kw(s, i, "for")) {
    if (kw(s, i + 1, "update")) {
      r.row_lock = CW_SQL_FOR_UPDATE;
      i += 2;
    } else if (kw(s, i + 1, "no") && kw(s, i + 2, "key") &&
               kw(s, i + 3, "update")) {
      r.row_lock = CW_SQL_FOR_UPDATE;
      i += 4;
    } else if (kw(s, i + 1, "share")) {
      r.row_lock = CW_SQL_FOR_SHARE;
      i += 2;
    } else if (kw(s, i + 1, "key") && kw(s, i + 2, "share")) {
      r.row_lock = CW_SQL_FOR_SHARE;
      i += 3;
    } else {
      return;
    }
  }
  if (i != s->n)
    return;
  r.has_row = 1;
  r.ncols = star ? 0 : ncols; /* "*" names no column we can key on */
  *out = r;
}

static void match_update(const stmt *s, cw__sql_info *out) {
  cw__sql_info r = *out;
  int expr_start[CW_SQL_MAX_COLS], expr_end[CW_SQL_MAX_COLS];
  int i = table_at(s, 1, r.table, sizeof r.table);
  if (i < 0 || !kw(s, i, "set"))
    return;
  i++;
  for (;;) {
    int c = r.ncols;
    if (c >= CW_SQL_MAX_COLS || !name_at(s, i, r.cols[c], sizeof r.cols[0]) ||
        !punct(s, i + 1, '='))
      return;
    i += 2;
    /* the expression runs to a top-level ',' or WHERE */
    int depth = 0, start = i;
    while (i < s->n) {
      if (punct(s, i, '('))
        depth++;
      else if (punct(s, i, ')'))
        depth--;
      else if (depth == 0 && (punct(s, i, ',') || kw(s, i, "where")))
        break;
      if (s->t[i].type == T_IDENT && strcmp(s->t[i].text, r.cols[c]) == 0)
        r.rmw[c] = 1;
      i++;
    }
    if (i == start || depth != 0)
      return;
    expr_start[c] = start;
    expr_end[c] = i;
    r.ncols++;
    if (!punct(s, i, ','))
      break;
    i++;
  }
  char key_col[CW_SQL_NAME_MAX];
  i = where_key_at(s, i, &r, key_col);
  if (i < 0)
    return;
  for (int c = 0; c < r.ncols; c++)
    if (expr_reads(s, expr_start[c], expr_end[c], &r, key_col) != 0)
      return;
  i = where_conds_at(s, i, &r, key_col);
  if (i < 0)
    return;
  if (kw(s, i, "returning"))
    i = s->n;
  if (i != s->n)
    return;
  r.has_row = 1;
  *out = r;
}

static void classify(const stmt *s, cw__sql_info *out) {
  if (s->n == 0)
    return;
  if (kw(s, 0, "begin")) {
    out->kind = CW_SQL_BEGIN;
    if (kw(s, 1, "immediate"))
      out->begin_mode = CW_SQL_IMMEDIATE;
    else if (kw(s, 1, "exclusive"))
      out->begin_mode = CW_SQL_EXCLUSIVE;
  } else if (kw(s, 0, "start") && kw(s, 1, "transaction")) {
    out->kind = CW_SQL_BEGIN;
  } else if (kw(s, 0, "commit") || kw(s, 0, "end")) {
    out->kind = CW_SQL_COMMIT;
  } else if (kw(s, 0, "rollback") || kw(s, 0, "abort")) {
    /* ROLLBACK [TRANSACTION|WORK] TO [SAVEPOINT] x ends no transaction */
    int i = 1;
    if (kw(s, i, "transaction") || kw(s, i, "work"))
      i++;
    out->kind = kw(s, i, "to") ? CW_SQL_OTHER : CW_SQL_ROLLBACK;
  } else if (kw(s, 0, "select")) {
    out->kind = CW_SQL_SELECT;
    if (!s->toolong)
      match_select(s, out);
  } else if (kw(s, 0, "update")) {
    out->kind = CW_SQL_UPDATE;
    if (!s->toolong)
      match_update(s, out);
  } else if (kw(s, 0, "insert") || kw(s, 0, "replace")) {
    out->kind = CW_SQL_INSERT;
  } else if (kw(s, 0, "delete")) {
    out->kind = CW_SQL_DELETE;
  }
}

size_t cw__sql_classify(const char *sql, size_t len, cw__sql_info *out) {
  stmt s;
  lexer lx = {sql, len, 0, 0};
  tok scratch;
  memset(out, 0, sizeof *out);
  s.n = 0;
  s.toolong = 0;
  for (;;) {
    tok *t = s.n < MAX_TOKENS ? &s.t[s.n] : &scratch;
    if (!next_token(&lx, t))
      break;
    if (s.n < MAX_TOKENS)
      s.n++;
    else
      s.toolong = 1;
  }
  classify(&s, out);
  return lx.pos;
}

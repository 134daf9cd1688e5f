/*
 * Text as the classifier's rules read it. Subjects and texts are folded
 * before they are compared: case folded, accents taken off (NFD without
 * its marks, and l for ł), every run of blanks one space, line ends
 * "\n", a typographic apostrophe a plain one. So "Odpowiedź automatyczna"
 * and "ODPOWIEDZ AUTOMATYCZNA" match alike. Phrases match as whole
 * words, never inside a longer word. Texts are read a line at a time.
 * Internal to the classifier; pure (GLib's Unicode tables only).
 */
#ifndef MQ_FOLD_H
#define MQ_FOLD_H

#include <stddef.h>

/* The folded form of s, which may be any bytes (invalid UTF-8 is made
 * valid first). Never NULL; the caller g_frees it. */
char *mq_fold(const char *s);

/* Whether the character at s (UTF-8) is a letter or a digit; 0 at the
 * end of the string. */
int mq_fold_is_word_char(const char *s);

/* Whether the folded phrase w occurs in the folded text s as whole
 * words (nothing alphanumeric just before or after it). */
int mq_fold_has_word(const char *s, const char *w);

/* Whether the folded text s starts with the folded phrase w as whole
 * words. */
int mq_fold_starts_word(const char *s, const char *w);

/* Cuts s to at most max bytes, in place, between characters. Returns
 * s. */
char *mq_fold_cut(char *s, size_t max);

/* The line at *p (up to "\n", without a "\r") copied into buf[cap], cut
 * when longer, and *p moved past it; 0, with nothing copied, at the end
 * of the text. cap must not be 0. */
int mq_fold_next_line(const char **p, char *buf, size_t cap);

#endif

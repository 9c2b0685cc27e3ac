// Package intents is Frontdesk's intent router: it learns a shop's topics
// from their example questions and maps each customer message to a topic
// with a calibrated confidence, a verdict (answer, ask, or admit not
// knowing), the order numbers, e-mail addresses and postcodes it mentions,
// and its language.
//
// The model is deliberately classic and small, so it trains in seconds on
// the shop's own machine, needs no downloads and answers in microseconds:
// messages are normalised (case, accents, full-width forms, contractions,
// greetings, numbers and order codes replaced by placeholders), turned into
// TF-IDF vectors over word uni- and bigrams, light stems, synonym groups,
// pairs of content words and character 2–5-grams within words (which
// absorb typos), and scored by one-vs-rest linear SVMs trained by dual
// coordinate descent. Confidence is Platt-scaled on cross-validated scores
// of the training questions, so it estimates the chance the top intent is
// right. The eval helpers (ReadCSV, Evaluate, HoldoutOOS) back the
// "frontdesk eval" command; RESULTS.md has the benchmark figures.
package intents

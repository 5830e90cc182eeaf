# R references for replic's GLMM families: brms fits of a bernoulli, a poisson and a binomial
# (with trials) model on public data sets, their draws, and posterior_epred() references.
#
# Run from anywhere:   Rscript tests/r/brms_glmm.R      (about 4 minutes: three compiles)
# Writes (relative to the repository root), shipped with replic (README example) in
# replic/datasets/:
#   bacteria.csv                  MASS::bacteria with y recoded 0/1 (y = "y" -> 1), ID, week, trt
#   bacteria_brms_draws.csv.gz    posterior::as_draws_df() of  y ~ week + (week | ID), bernoulli
# and under tests/data/glmm/:
#   bacteria_epred.csv.gz         posterior_epred() per draw (.draw = row of the draws file):
#                                   cond_w0, cond_w1       re_formula = NA at week 0 and 1
#                                   fit_<ID>_w0/_w1        re_formula = NULL, 3 fitted IDs
#                                   new<i>_w0/_w1          allow_new_levels = TRUE,
#                                                          sample_new_levels = "gaussian",
#                                                          N_NEW distinct new IDs (set.seed(SEED))
#   epil.csv                      MASS::epil with visit = period - 2.5
#   epil_brms_draws.csv.gz        y ~ trt + visit + (1 + visit | subject), poisson
#   cbpp.csv                      lme4::cbpp
#   cbpp_brms_draws.csv.gz        incidence | trials(size) ~ period + (1 | herd), binomial
#   brms_glmm_versions.txt        R / brms / rstan / posterior / lme4 / MASS versions, settings
#
# Every fit: brms default priors, 4 chains x 500 draws after 500 warmup, thinned by 2 (1000
# draws), seed 2026, cores 2.  Draws and epred values are written with 10 significant digits.
# Versions of the run that produced the committed files are in brms_glmm_versions.txt; this
# script was written for R 4.2.x, brms 2.18.0, rstan 2.21.x.

suppressMessages({
  library(lme4)
  library(brms)
  library(posterior)
  library(MASS)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grepl("^--file=", args)])
root <- if (length(script)) normalizePath(file.path(dirname(script), "..", "..")) else getwd()
outdir <- file.path(root, "tests", "data", "glmm")
datasets <- file.path(root, "replic", "datasets")
dir.create(outdir, recursive = TRUE, showWarnings = FALSE)
SEED <- 2026
N_NEW <- 10
DIGITS <- 10
cache <- "/tmp/replic_brms_glmm"
dir.create(cache, showWarnings = FALSE)

versions <- c(
  R = R.version.string,
  brms = as.character(packageVersion("brms")),
  rstan = as.character(packageVersion("rstan")),
  posterior = as.character(packageVersion("posterior")),
  lme4 = as.character(packageVersion("lme4")),
  MASS = as.character(packageVersion("MASS")),
  platform = R.version$platform,
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  sampler = "chains = 4, iter = 1000 (warmup 500), thin = 2, seed = 2026, cores = 2, refresh = 0",
  bacteria = "y ~ week + (week | ID), bernoulli(logit), MASS::bacteria (y: 'y' -> 1, 'n' -> 0)",
  epil = "y ~ trt + visit + (1 + visit | subject), poisson(log), MASS::epil, visit = period - 2.5",
  cbpp = "incidence | trials(size) ~ period + (1 | herd), binomial(logit), lme4::cbpp",
  epred = sprintf("set.seed(%d) before the new-level call; N_NEW = %d new IDs", SEED, N_NEW)
)

write_gz <- function(df, name, dir = outdir) {
  gz <- gzfile(file.path(dir, name), "w")
  write.csv(format_df(df), gz, row.names = FALSE)
  close(gz)
}
format_df <- function(df) {
  for (c in names(df)) if (is.double(df[[c]])) df[[c]] <- signif(df[[c]], DIGITS)
  df
}
fit_one <- function(formula, data, family, name) {
  brm(formula, data = data, family = family, chains = 4, iter = 1000, warmup = 500, thin = 2,
      seed = SEED, cores = 2, refresh = 0, file = file.path(cache, name), file_refit = "on_change")
}
draws_of <- function(fit) {
  dr <- as.data.frame(posterior::as_draws_df(fit))
  stopifnot(nrow(dr) == 1000, !"sigma" %in% names(dr))
  dr
}

# ---- bacteria: bernoulli with a random slope ---------------------------------------------------
bac <- data.frame(y = as.integer(MASS::bacteria$y == "y"), week = MASS::bacteria$week,
                  ID = as.character(MASS::bacteria$ID), trt = as.character(MASS::bacteria$trt))
write.csv(bac, file.path(datasets, "bacteria.csv"), row.names = FALSE)
fb <- fit_one(y ~ week + (week | ID), bac, bernoulli(), "bacteria")
print(summary(fb))
drb <- draws_of(fb)
write_gz(drb, "bacteria_brms_draws.csv.gz", datasets)
S <- nrow(drb)

cond <- posterior_epred(fb, newdata = data.frame(week = c(0, 1)), re_formula = NA)
stopifnot(max(abs(cond - plogis(cbind(drb$b_Intercept, drb$b_Intercept + drb$b_week)))) < 1e-8)
ids <- c("X01", "X02", "Z26")
stopifnot(all(ids %in% bac$ID))
fitd <- posterior_epred(fb, newdata = data.frame(ID = rep(ids, each = 2), week = rep(c(0, 1), 3)),
                        re_formula = NULL)
new_ids <- paste0("new", seq_len(N_NEW))
set.seed(SEED)
newd <- posterior_epred(fb, newdata = data.frame(ID = rep(new_ids, each = 2),
                                                 week = rep(c(0, 1), N_NEW)),
                        allow_new_levels = TRUE, sample_new_levels = "gaussian")
ep <- data.frame(.draw = seq_len(S), cond_w0 = cond[, 1], cond_w1 = cond[, 2])
for (i in seq_along(ids)) {
  ep[[paste0("fit_", ids[i], "_w0")]] <- fitd[, 2 * i - 1]
  ep[[paste0("fit_", ids[i], "_w1")]] <- fitd[, 2 * i]
}
for (i in seq_along(new_ids)) {
  ep[[paste0(new_ids[i], "_w0")]] <- newd[, 2 * i - 1]
  ep[[paste0(new_ids[i], "_w1")]] <- newd[, 2 * i]
}
write_gz(ep, "bacteria_epred.csv.gz")
eff <- newd[, 2 * seq_len(N_NEW)] - newd[, 2 * seq_len(N_NEW) - 1]
cat("\nnew_gaussian effect of week (probability scale), pooled over", N_NEW, "new IDs: mean",
    mean(eff), "sd", sd(eff), "\n")

# ---- epil: poisson with a random slope ---------------------------------------------------------
ep_d <- data.frame(y = MASS::epil$y, trt = as.character(MASS::epil$trt),
                   visit = MASS::epil$period - 2.5, subject = MASS::epil$subject)
write.csv(ep_d, file.path(outdir, "epil.csv"), row.names = FALSE)
fe <- fit_one(y ~ trt + visit + (1 + visit | subject), ep_d, poisson(), "epil")
print(summary(fe))
write_gz(draws_of(fe), "epil_brms_draws.csv.gz")

# ---- cbpp: binomial with trials ----------------------------------------------------------------
cb <- data.frame(incidence = lme4::cbpp$incidence, size = lme4::cbpp$size,
                 period = as.character(lme4::cbpp$period), herd = as.character(lme4::cbpp$herd))
write.csv(cb, file.path(outdir, "cbpp.csv"), row.names = FALSE)
fc <- fit_one(incidence | trials(size) ~ period + (1 | herd), cb, binomial(), "cbpp")
print(summary(fc))
write_gz(draws_of(fc), "cbpp_brms_draws.csv.gz")

writeLines(paste0(names(versions), ": ", versions), file.path(outdir, "brms_glmm_versions.txt"))
cat(paste0(names(versions), ": ", versions), sep = "\n")

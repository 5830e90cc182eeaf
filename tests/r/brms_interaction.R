# R reference for replic's effect of a term at given covariate values (effect_draws(..., at=)).
#
# Run from anywhere:   Rscript tests/r/brms_interaction.R
# Writes (relative to the repository root):
#   tests/data/brms/orthodont.csv                    nlme::Orthodont as a plain CSV (Subject, age, Sex, distance)
#   tests/data/brms/orthodont_draws.csv.gz           posterior::as_draws_df() of the fit (brms names)
#   tests/data/brms/interaction_reference.csv        estimand, Sex, mean, sd, q025, q50, q975, n
#   tests/data/brms/interaction_versions.txt         R / brms / rstan / posterior / nlme versions, settings
#   tests/data/brms/brms_interaction.log             console output
#
# Model: distance ~ age * Sex + (age | Subject), brms default priors, 4 chains x 1000 draws after
# 1000 warm-up, seed 2026, cores 2.  The data are read back from the CSV so that Sex has R's
# level order for that CSV (Female, Male): the coefficients are b_Intercept, b_age, b_SexMale,
# b_age:SexMale.
#
# The effect of age at Sex = s is read off posterior_linpred() at age 9 and age 8 of the same
# subject (linear in age, so the difference is exact draw by draw):
#   conditional   re_formula = NA: b_age + b_age:SexMale * [s == Male]
#   new_gaussian  allow_new_levels = TRUE, sample_new_levels = "gaussian", N_NEW distinct new
#                 subjects per Sex in one call (set.seed(2026)), pooled: N_NEW x 4000 values,
#                 each b_age + b_age:SexMale [s == Male] + v_age, v ~ MVN(0, Sigma_s).

suppressMessages({
  library(brms)
  library(posterior)
  library(nlme)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grepl("^--file=", args)])
root <- if (length(script)) normalizePath(file.path(dirname(script), "..", "..")) else getwd()
outdir <- file.path(root, "tests", "data", "brms")
dir.create(outdir, recursive = TRUE, showWarnings = FALSE)
logfile <- file.path(outdir, "brms_interaction.log")
zz <- file(logfile, open = "wt")
sink(zz, split = TRUE)
sink(zz, type = "message")

SEED <- 2026
N_NEW <- 10

versions <- c(
  R = R.version.string,
  brms = as.character(packageVersion("brms")),
  rstan = as.character(packageVersion("rstan")),
  posterior = as.character(packageVersion("posterior")),
  nlme = as.character(packageVersion("nlme")),
  platform = R.version$platform,
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  model = "distance ~ age * Sex + (age | Subject), nlme::Orthodont via CSV, brms default priors",
  sampler = "chains = 4, iter = 2000 (warmup 1000), seed = 2026, cores = 2, refresh = 0",
  new_levels = sprintf("set.seed(%d) before each posterior_linpred call; N_NEW = %d per Sex", SEED, N_NEW)
)
writeLines(paste0(names(versions), ": ", versions), file.path(outdir, "interaction_versions.txt"))
cat(paste0(names(versions), ": ", versions), sep = "\n")

o <- as.data.frame(nlme::Orthodont)
o <- data.frame(Subject = as.character(o$Subject), age = o$age, Sex = as.character(o$Sex),
                distance = o$distance)
csv <- file.path(outdir, "orthodont.csv")
write.csv(o, csv, row.names = FALSE)
d <- read.csv(csv, stringsAsFactors = TRUE)
print(levels(d$Sex))

t0 <- Sys.time()
fit <- brm(distance ~ age * Sex + (age | Subject), data = d,
           chains = 4, iter = 2000, warmup = 1000, seed = SEED, cores = 2, refresh = 0)
cat("\nfit time: ", format(Sys.time() - t0), "\n")
print(summary(fit))

dr <- as.data.frame(posterior::as_draws_df(fit))
gz <- gzfile(file.path(outdir, "orthodont_draws.csv.gz"), "w")
write.csv(dr, gz, row.names = FALSE)
close(gz)
S <- nrow(dr)
stopifnot(S == 4000)

slopes_of <- function(lp) {
  k <- ncol(lp) / 2
  lp[, 2 * seq_len(k)] - lp[, 2 * seq_len(k) - 1]
}
summ <- function(name, sex, x) {
  q <- quantile(x, c(0.025, 0.5, 0.975), names = FALSE)
  data.frame(estimand = name, Sex = sex, mean = mean(x), sd = sd(x), q025 = q[1], q50 = q[2],
             q975 = q[3], n = length(x))
}
rows <- list()
for (sex in c("Female", "Male")) {
  nd <- data.frame(age = c(8, 9), Sex = factor(sex, levels = levels(d$Sex)))
  cond <- slopes_of(posterior_linpred(fit, newdata = nd, re_formula = NA))
  want <- dr$b_age + (sex == "Male") * dr[["b_age:SexMale"]]
  stopifnot(max(abs(cond - want)) < 1e-8)
  ids <- paste0("new", seq_len(N_NEW))
  ndn <- data.frame(Subject = rep(ids, each = 2), age = rep(c(8, 9), N_NEW),
                    Sex = factor(sex, levels = levels(d$Sex)))
  set.seed(SEED)
  g <- slopes_of(posterior_linpred(fit, newdata = ndn, allow_new_levels = TRUE,
                                   sample_new_levels = "gaussian"))
  rows[[length(rows) + 1]] <- summ("conditional", sex, as.vector(cond))
  rows[[length(rows) + 1]] <- summ("new_gaussian", sex, as.vector(g))
}
ref <- do.call(rbind, rows)
print(ref)
write.csv(ref, file.path(outdir, "interaction_reference.csv"), row.names = FALSE)
sink(type = "message")
sink()

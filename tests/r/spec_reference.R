# References for replic.spec: R's level order and lme4's/brms's term names.
#
# Run from the repository root:   Rscript tests/r/spec_reference.R
# Writes tests/data/spec/
#   collation.csv       value, rank: strings in the order R's sort() gives (ICU collation, the
#                       order of factor() levels of a character column in a UTF-8 session)
#   factors.csv         a data set with a 2-level and a 4-level factor, an interaction,
#                       missing values in used and unused columns, subjects s1..s12
#   factors_fixed.csv   model, formula, term (lme4), brms (brms:::rename of the lme4 name),
#                       estimate, se, df (lmerTest Satterthwaite), n (rows used), n_dropped
#   factors_groups.csv  model, rank, level: levels of the grouping factor (rownames of ranef)
# CI never runs R: the CSVs are committed.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})
out <- "tests/data/spec"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
set.seed(20261130)

strings <- c("T10", "T2", "t1", "a b", "ab", "a-b", "A", "a", "e", "f", "Male", "Female",
             "female", "10", "9", "-1", "_x", "x_1", "x.1", "X1", "ctrl", "Low", "high",
             "mid-dose", "B2", "b10", "b2", "Z", "z", "s1", "s10", "s2")
sorted <- sort(strings)
write.csv(data.frame(value = sorted, rank = seq_along(sorted)), file.path(out, "collation.csv"),
          row.names = FALSE)

J <- 12; types <- c("ctrl", "Low", "high", "mid-dose")
rows <- list()
for (j in seq_len(J)) {
  sex <- if (j %% 2 == 0) "Male" else "Female"
  u <- rnorm(2, 0, c(3, 0.8))
  type <- rep(types, 3)
  x <- rep(0:2, each = 4) + runif(12, 0, 0.5)
  eff <- c(ctrl = 0, Low = 1, high = 2.5, "mid-dose" = 1.8)[type]
  y <- 20 + u[1] + (1.5 + u[2] + 0.7 * (sex == "Male")) * x + 2 * (sex == "Male") + eff +
    rnorm(12, 0, 1.2)
  rows[[j]] <- data.frame(y = y, x = x, Sex = sex, Type = type, g = paste0("s", j),
                          other = rnorm(12))
}
d <- do.call(rbind, rows)
d$y[c(5, 40)] <- NA
d$x[c(17, 90, 133)] <- NA
d$Type[c(61, 100)] <- NA
d$other[c(1, 2, 3)] <- NA
write.csv(d, file.path(out, "factors.csv"), row.names = FALSE)
d <- read.csv(file.path(out, "factors.csv"))

models <- list(
  two_level = y ~ x * Sex + (1 + x | g),
  four_level = y ~ x + Type + (1 | g),
  both = y ~ x * Sex + Type + (1 + x | g)
)
ctrl <- lmerControl(optimizer = "bobyqa",
                    optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))
fixed <- list(); groups <- list()
for (name in names(models)) {
  m <- lmerTest::lmer(models[[name]], data = d, REML = TRUE, control = ctrl)
  co <- summary(m)$coefficients
  fixed[[name]] <- data.frame(model = name, formula = deparse(models[[name]]),
                              term = rownames(co), brms = brms:::rename(rownames(co)),
                              estimate = co[, "Estimate"], se = co[, "Std. Error"],
                              df = co[, "df"], n = nobs(m), n_dropped = nrow(d) - nobs(m))
  lv <- rownames(ranef(m)$g)
  groups[[name]] <- data.frame(model = name, rank = seq_along(lv), level = lv)
}
options(digits = 15)
write.csv(do.call(rbind, fixed), file.path(out, "factors_fixed.csv"), row.names = FALSE)
write.csv(do.call(rbind, groups), file.path(out, "factors_groups.csv"), row.names = FALSE)
cat(sprintf("spec_reference.R: R %s, lme4 %s, lmerTest %s, brms %s, locale %s, ICU %s\n",
            getRversion(), packageVersion("lme4"), packageVersion("lmerTest"),
            packageVersion("brms"), Sys.getlocale("LC_COLLATE"), capabilities("ICU")),
    file = file.path(out, "VERSIONS.txt"))

# References for replic.spec: interactions whose margins are absent, coded as R's model.matrix
# codes them (a factor of an interaction is coded by indicators, not contrasts, when the term
# without it is not in the model) and named as lme4 names the fixed effects.
#
# Run from the repository root:   Rscript tests/r/spec_interactions.R
# Writes tests/data/spec/
#   warpbreaks.csv, orthodont.csv   the data (datasets::warpbreaks with a grouping column
#                                   g = 9 blocks of 6 runs; nlme::Orthodont as a plain table)
#   interactions.csv                case, data, formula, column, name (model.matrix's column
#                                   names of the fixed part), lme4 (lmer's fixef names, after
#                                   lme4 drops the columns of a rank-deficient design: "" there)
#   interactions_<case>.csv         model.matrix of the fixed part (R's column names)
# CI never runs R: the CSVs are committed.  Versions in tests/data/spec/VERSIONS_interactions.txt.
suppressPackageStartupMessages({
  library(lme4)
  library(nlme)
})
out <- "tests/data/spec"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

wb <- datasets::warpbreaks
wb$g <- paste0("b", rep(1:9, times = 6))
write.csv(wb, file.path(out, "warpbreaks.csv"), row.names = FALSE)
or <- as.data.frame(nlme::Orthodont)
or$Subject <- as.character(or$Subject)
or$Sex <- as.character(or$Sex)
write.csv(or, file.path(out, "orthodont.csv"), row.names = FALSE)
# read back, so that R and Python see the same table (levels from the CSV: alphabetical)
data <- list(warpbreaks = read.csv(file.path(out, "warpbreaks.csv"), stringsAsFactors = TRUE),
             orthodont = read.csv(file.path(out, "orthodont.csv"), stringsAsFactors = TRUE))
# warpbreaks' tension is L, M, H in R's data set; from the CSV it is alphabetical (H, L, M)

cases <- list(
  wb_both = list("warpbreaks", breaks ~ wool:tension + (1 | g)),
  wb_both_no_intercept = list("warpbreaks", breaks ~ 0 + wool:tension + (1 | g)),
  wb_one_margin = list("warpbreaks", breaks ~ wool + wool:tension + (1 | g)),
  or_numeric_factor = list("orthodont", distance ~ age:Sex + (1 | Subject)),
  or_numeric_margin = list("orthodont", distance ~ age + age:Sex + (1 | Subject)),
  or_factor_margin = list("orthodont", distance ~ Sex + age:Sex + (1 | Subject))
)
rows <- list()
for (name in names(cases)) {
  d <- data[[cases[[name]][[1]]]]
  f <- cases[[name]][[2]]
  X <- model.matrix(lme4::nobars(f), d)
  write.csv(as.data.frame(X), file.path(out, paste0("interactions_", name, ".csv")),
            row.names = FALSE)
  m <- suppressMessages(lmer(f, data = d, REML = TRUE))
  fe <- names(fixef(m))
  rows[[name]] <- data.frame(case = name, data = cases[[name]][[1]],
                             formula = paste(deparse(f), collapse = ""),
                             column = seq_len(ncol(X)), name = colnames(X),
                             lme4 = ifelse(colnames(X) %in% fe, colnames(X), ""))
}
write.csv(do.call(rbind, rows), file.path(out, "interactions.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("lme4", packageVersion("lme4")),
             paste("nlme", packageVersion("nlme"))),
           file.path(out, "VERSIONS_interactions.txt"))

# lmerTest references on public data sets replic was not tuned on (nlme's BodyWeight,
# MathAchieve, ergoStool, Machines; datasets' ChickWeight; lme4's Dyestuff): two-, three- and
# four-level factors, interactions with a factor, repeated observations per cell, 7185 rows.
#
# Run from the repository root:   Rscript tests/r/lmertest_public.R
# Each data set is written to CSV and read back with read.csv, so R fits exactly what replic
# reads; Diet is written as D1, D2, ... so both read it as a factor.  Fits by REML and ML with
# bobyqa to rhoend = 1e-12; lmerTest's Satterthwaite df come from numDeriv at that optimum.
#   tests/data/lme4/public/<name>.csv(.gz)     the data
#   tests/data/lme4/public/lmertest_public.csv dataset, formula, reml, term, estimate, se, df,
#                                              sigma, criterion, singular
#   tests/data/lme4/public/VERSIONS.txt        R, lme4, lmerTest, nlme versions
# CI never runs R: the CSVs are committed.
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(nlme)})
out <- "tests/data/lme4/public"
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))
bw <- as.data.frame(nlme::BodyWeight); bw$Rat <- as.character(bw$Rat); bw$Diet <- paste0("D", bw$Diet)
write.csv(bw[, c("weight","Time","Rat","Diet")], file.path(out,"bodyweight.csv"), row.names=FALSE)
ma <- as.data.frame(nlme::MathAchieve); ma$School <- as.character(ma$School); ma$Sex <- as.character(ma$Sex)
write.csv(ma[, c("School","Sex","SES","MathAch")], gzfile(file.path(out,"mathachieve.csv.gz")), row.names=FALSE)
es <- as.data.frame(nlme::ergoStool); es$Subject <- as.character(es$Subject); es$Type <- as.character(es$Type)
write.csv(es[, c("effort","Type","Subject")], file.path(out,"ergostool.csv"), row.names=FALSE)
mc <- as.data.frame(nlme::Machines); mc$Worker <- as.character(mc$Worker); mc$Machine <- as.character(mc$Machine)
write.csv(mc[, c("score","Machine","Worker")], file.path(out,"machines.csv"), row.names=FALSE)
cw <- as.data.frame(ChickWeight); cw$Chick <- as.character(cw$Chick); cw$Diet <- paste0("D", cw$Diet)
write.csv(cw[, c("weight","Time","Chick","Diet")], file.path(out,"chickweight.csv"), row.names=FALSE)
ds <- as.data.frame(lme4::Dyestuff); ds$Batch <- as.character(ds$Batch)
write.csv(ds, file.path(out,"dyestuff.csv"), row.names=FALSE)
cases <- list(
  list("bodyweight", weight ~ Time * Diet + (Time | Rat)),
  list("mathachieve", MathAch ~ SES * Sex + (SES | School)),
  list("ergostool", effort ~ Type + (1 | Subject)),
  list("machines", score ~ Machine + (1 | Worker)),
  list("machines", score ~ Machine + (Machine | Worker)),
  list("chickweight", weight ~ Time * Diet + (Time | Chick)),
  list("dyestuff", Yield ~ 1 + (1 | Batch)))
rows <- list()
for (cs in cases) {
  f <- file.path(out, paste0(cs[[1]], ".csv")); if (!file.exists(f)) f <- paste0(f, ".gz"); d <- read.csv(f)
  for (v in intersect(names(d), c("Rat","School","Subject","Worker","Chick","Batch"))) d[[v]] <- as.character(d[[v]])
  for (reml in c(TRUE, FALSE)) {
    m <- lmerTest::lmer(cs[[2]], data = d, REML = reml, control = ctrl)
    co <- summary(m)$coefficients
    rows[[length(rows)+1]] <- data.frame(dataset=cs[[1]], formula=deparse(cs[[2]]), reml=reml,
      term=rownames(co), estimate=co[,"Estimate"], se=co[,"Std. Error"], df=co[,"df"],
      sigma=sigma(m), criterion=if (reml) REMLcrit(m) else deviance(m), singular=isSingular(m))
  }
}
write.csv(do.call(rbind, rows), file.path(out, "lmertest_public.csv"), row.names=FALSE)
writeLines(paste(R.version.string, "lme4", packageVersion("lme4"), "lmerTest", packageVersion("lmerTest"), "nlme", packageVersion("nlme")), file.path(out, "VERSIONS.txt"))

!> Reference physics of the LMDZ-style multi-column atmosphere host (module column_physics).
!>
!> Columns are independent (no dynamics): klon columns on a latitude band, klev sigma
!> levels numbered from the surface up as in LMDZ (k = 1 is the lowest layer). Arrays are
!> (klon, klev), LMDZ's packed layout; half-level pressures paprs(klon, klev+1) with
!> paprs(:, 1) the surface pressure and paprs(:, klev+1) the model top.
!>
!> Processes, in the order that `physics` applies them each step:
!> 1. Held & Suarez (1994) Newtonian relaxation of T toward Teq (exact exponential update);
!> 2. surface evaporation: lowest-level q relaxed toward saturation over tau_evap;
!> 3. dry convective adjustment to constant potential temperature, conserving enthalpy
!>    (sum of cp T dp), solved exactly by pooling adjacent unstable layers;
!> 4. simplified Betts-Miller convection (Frierson 2007), `convection_reference`;
!> 5. large-scale condensation of supersaturation with latent heat release.
!>
!> The public routines take explicit-shape real(c_double) and integer(c_int) arguments,
!> for f90wrap and for direct Fortran calls. They do not check their arguments: the Python
!> wrapper (climlearn.testbeds.column.physics) validates them.
module column_physics
  use, intrinsic :: iso_c_binding, only: c_double, c_int
  implicit none
  private

  public :: cp_sigma_levels, cp_teq, cp_relaxation, cp_dry_adjustment, &
            convection_reference, cp_large_scale_condensation, cp_surface_evaporation, &
            physics, cp_run, cp_qsat, cp_bm_features
  !> Argument kinds, re-exported for the generated f90wrap wrappers.
  public :: c_double, c_int

  integer, parameter :: dp = c_double

  !> Physical constants (Frierson et al. 2006/2007 values).
  real(dp), parameter :: cl_rd = 287.04_dp       !< gas constant of dry air, J kg-1 K-1
  real(dp), parameter :: cl_cp = 1004.64_dp      !< heat capacity of dry air, J kg-1 K-1
  real(dp), parameter :: cl_kappa = cl_rd / cl_cp
  real(dp), parameter :: cl_grav = 9.80_dp       !< gravity, m s-2
  real(dp), parameter :: cl_lv = 2.5e6_dp        !< latent heat of vaporisation, J kg-1
  real(dp), parameter :: cl_rv = 461.5_dp        !< gas constant of water vapour
  real(dp), parameter :: cl_p0 = 1.0e5_dp        !< reference pressure, Pa
  real(dp), parameter :: eps_mol = cl_rd / cl_rv
  real(dp), parameter :: es0 = 610.78_dp, t0 = 273.16_dp
  real(dp), parameter :: pi = 3.14159265358979323846_dp

  !> Held & Suarez (1994) parameters.
  real(dp), parameter :: hs_ka = 1.0_dp / (40.0_dp * 86400.0_dp)
  real(dp), parameter :: hs_ks = 1.0_dp / (4.0_dp * 86400.0_dp)
  real(dp), parameter :: hs_dy = 60.0_dp, hs_dz = 10.0_dp, hs_sigb = 0.7_dp
  real(dp), parameter :: hs_tsurf = 315.0_dp, hs_tstrat = 200.0_dp

  !> Simplified Betts-Miller parameters (Frierson 2007): relaxation time and the relative
  !> humidity of the reference profile; convection is limited to p > p_conv_top.
  real(dp), parameter :: bm_tau = 7200.0_dp, bm_rhbm = 0.7_dp, p_conv_top = 1.0e4_dp

contains

  !> Saturation specific humidity (Clausius-Clapeyron with constant L, as Frierson 2006).
  elemental function cp_qsat(t, p) result(qs)
    real(c_double), intent(in) :: t  !< temperature, K
    real(c_double), intent(in) :: p  !< pressure, Pa
    real(c_double) :: qs
    real(dp) :: es
    es = es0 * exp(cl_lv / cl_rv * (1.0_dp / t0 - 1.0_dp / t))
    qs = eps_mol * es / max(p - (1.0_dp - eps_mol) * es, 1.0_dp)
  end function cp_qsat

  !> d qsat / dT at (t, p) (derivative of the approximation qs ~ eps es / p).
  elemental function dqsat_dt(t, p) result(d)
    real(dp), intent(in) :: t, p
    real(dp) :: d
    d = cp_qsat(t, p) * cl_lv / (cl_rv * t * t)
  end function dqsat_dt

  !> Half and full sigma levels, equally spaced in sigma: sigh(1) = 1 (surface),
  !> sigh(klev+1) = 0 (top), sig(k) the mid-point of layer k.
  subroutine cp_sigma_levels(klev, sigh, sig)
    integer(c_int), intent(in) :: klev             !< number of layers
    real(c_double), intent(out) :: sigh(klev + 1)  !< half-level sigma
    real(c_double), intent(out) :: sig(klev)       !< full-level sigma
    integer :: k
    do k = 1, klev + 1
      sigh(k) = 1.0_dp - real(k - 1, dp) / real(klev, dp)
    end do
    sig = 0.5_dp * (sigh(1:klev) + sigh(2:klev + 1))
  end subroutine cp_sigma_levels

  !> Held-Suarez radiative-equilibrium temperature and relaxation rate at (lat, p, ps).
  elemental subroutine hs_teq_k(lat, p, ps, teq, krate)
    real(dp), intent(in) :: lat, p, ps
    real(dp), intent(out) :: teq, krate
    real(dp) :: s, c, sig
    s = sin(lat * pi / 180.0_dp)
    c = cos(lat * pi / 180.0_dp)
    teq = (hs_tsurf - hs_dy * s * s - hs_dz * log(p / cl_p0) * c * c) * (p / cl_p0)**cl_kappa
    teq = max(hs_tstrat, teq)
    sig = p / ps
    krate = hs_ka + (hs_ks - hs_ka) * max(0.0_dp, (sig - hs_sigb) / (1.0_dp - hs_sigb)) * c**4
  end subroutine hs_teq_k

  !> Held-Suarez equilibrium temperature teq (K) and relaxation rate krate (s-1).
  subroutine cp_teq(klon, klev, lat, paprs, pplay, teq, krate)
    integer(c_int), intent(in) :: klon, klev
    real(c_double), intent(in) :: lat(klon)              !< latitude, degrees north
    real(c_double), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(c_double), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(c_double), intent(out) :: teq(klon, klev)       !< equilibrium temperature, K
    real(c_double), intent(out) :: krate(klon, klev)     !< relaxation rate, s-1
    integer :: k
    do k = 1, klev
      call hs_teq_k(lat, pplay(:, k), paprs(:, 1), teq(:, k), krate(:, k))
    end do
  end subroutine cp_teq

  !> Newtonian relaxation over dtime, exact: T <- Teq + (T - Teq) exp(-k dtime).
  subroutine cp_relaxation(klon, klev, dtime, lat, paprs, pplay, t)
    integer(c_int), intent(in) :: klon, klev
    real(c_double), intent(in) :: dtime                  !< time step, s
    real(c_double), intent(in) :: lat(klon)              !< latitude, degrees north
    real(c_double), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(c_double), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(c_double), intent(inout) :: t(klon, klev)       !< temperature, K
    real(dp) :: teq(klon, klev), krate(klon, klev)
    call cp_teq(klon, klev, lat, paprs, pplay, teq, krate)
    t = teq + (t - teq) * exp(-krate * dtime)
  end subroutine cp_relaxation

  !> Dry convective adjustment of one column: theta made non-decreasing upward, each
  !> mixed layer at constant theta, conserving sum(T dp) (enthalpy). Pool-adjacent-
  !> violators: weights w = Pi dp (Pi = (p/p0)^kappa), pooled theta = sum(T dp)/sum(w).
  pure subroutine dry_adjust_column(klev, dpl, pl, t)
    integer, intent(in) :: klev
    real(dp), intent(in) :: dpl(klev), pl(klev)
    real(dp), intent(inout) :: t(klev)
    real(dp) :: w(klev), th(klev), bw(klev), bth(klev)
    integer :: bstart(klev), nb, k, j
    w = (pl / cl_p0)**cl_kappa * dpl
    th = t / (pl / cl_p0)**cl_kappa
    nb = 0
    do k = 1, klev
      nb = nb + 1
      bw(nb) = w(k)
      bth(nb) = th(k)
      bstart(nb) = k
      do while (nb > 1)
        if (bth(nb) >= bth(nb - 1)) exit
        bth(nb - 1) = (bw(nb - 1) * bth(nb - 1) + bw(nb) * bth(nb)) / (bw(nb - 1) + bw(nb))
        bw(nb - 1) = bw(nb - 1) + bw(nb)
        nb = nb - 1
      end do
    end do
    do j = 1, nb
      if (j < nb) then
        k = bstart(j + 1) - 1
      else
        k = klev
      end if
      if (k > bstart(j)) t(bstart(j):k) = bth(j) * (pl(bstart(j):k) / cl_p0)**cl_kappa
    end do
  end subroutine dry_adjust_column

  !> Dry convective adjustment of every column (T updated in place).
  subroutine cp_dry_adjustment(klon, klev, paprs, pplay, t)
    integer(c_int), intent(in) :: klon, klev
    real(c_double), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(c_double), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(c_double), intent(inout) :: t(klon, klev)       !< temperature, K
    real(dp) :: tc(klev)
    integer :: i
    do i = 1, klon
      tc = t(i, :)
      call dry_adjust_column(klev, paprs(i, 1:klev) - paprs(i, 2:klev + 1), pplay(i, :), tc)
      t(i, :) = tc
    end do
  end subroutine cp_dry_adjustment

  !> Simplified Betts-Miller convection (Frierson 2007), deep and shallow.
  !>
  !> A parcel from the lowest level is lifted dry-adiabatically to saturation, then along
  !> the moist adiabat of constant theta_e = T (p0/p)^kappa exp(L qs / (cp T)). The
  !> reference profile is T_ref = parcel T, q_ref = rhbm qsat(T_ref) from the surface to
  !> the highest buoyant level ktop (p > 100 hPa). Convection fires where ktop >= 2 and
  !> CAPE > 0. With P_q = sum (q - q_ref) dp and P_T = sum cp/L (T_ref - T) dp:
  !> - deep (P_q > 0 and P_T > 0): T_ref is shifted by a uniform dT so that the column
  !>   integral of cp dT + L dq is zero (enthalpy conservation); it rains -sum(dq dp)/g;
  !> - shallow (otherwise): no precipitation. q_ref is rescaled by sum(q dp)/sum(q_ref dp)
  !>   (column water conserved, q_ref >= 0: a variant of Frierson's "qref" shallow scheme
  !>   that moistens the free troposphere from the boundary layer) and T_ref is shifted so
  !>   that sum(dT dp) = 0.
  !> T and q relax toward the references with the factor r = 1 - exp(-dtime/tau) (so q
  !> stays >= 0). Tendencies d_t (K s-1), d_q (kg kg-1 s-1) are per second over dtime;
  !> precip is the surface precipitation rate (kg m-2 s-1). Inputs are not modified.
  subroutine convection_reference(klon, klev, paprs, pplay, t, q, dtime, d_t, d_q, precip)
    integer(c_int), intent(in) :: klon, klev
    real(c_double), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(c_double), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(c_double), intent(in) :: t(klon, klev)          !< temperature, K
    real(c_double), intent(in) :: q(klon, klev)          !< specific humidity, kg kg-1
    real(c_double), intent(in) :: dtime                  !< time step, s
    real(c_double), intent(out) :: d_t(klon, klev)       !< temperature tendency, K s-1
    real(c_double), intent(out) :: d_q(klon, klev)       !< humidity tendency, kg kg-1 s-1
    real(c_double), intent(out) :: precip(klon)          !< precipitation, kg m-2 s-1
    real(dp) :: tref(klev), qref(klev), dpl(klev), pl(klev), tc(klev), qc(klev)
    real(dp) :: r, pq, pt, dtshift, mass
    integer :: i, ktop
    d_t = 0.0_dp
    d_q = 0.0_dp
    precip = 0.0_dp
    r = 1.0_dp - exp(-dtime / bm_tau)
    do i = 1, klon
      call column_cloud_layer(klev, paprs(i, :), pplay(i, :), t(i, :), q(i, :), pl, dpl, tc, &
                              qc, tref, ktop)
      if (ktop < 2) cycle
      qref(1:ktop) = bm_rhbm * cp_qsat(tref(1:ktop), pl(1:ktop))
      mass = sum(dpl(1:ktop))
      pq = sum((qc(1:ktop) - qref(1:ktop)) * dpl(1:ktop))
      pt = cl_cp / cl_lv * sum((tref(1:ktop) - tc(1:ktop)) * dpl(1:ktop))
      if (pq > 0.0_dp .and. pt > 0.0_dp) then
        ! Deep: sum cp (tref + dT - T) dp + L sum (qref - q) dp = 0.
        dtshift = (cl_lv * pq - cl_cp * sum((tref(1:ktop) - tc(1:ktop)) * dpl(1:ktop))) &
                  / (cl_cp * mass)
      else
        ! Shallow: column water and column enthalpy of T unchanged, no precipitation.
        qref(1:ktop) = qref(1:ktop) * (sum(qc(1:ktop) * dpl(1:ktop)) &
                                       / sum(qref(1:ktop) * dpl(1:ktop)))
        dtshift = -sum((tref(1:ktop) - tc(1:ktop)) * dpl(1:ktop)) / mass
      end if
      d_t(i, 1:ktop) = r * (tref(1:ktop) + dtshift - tc(1:ktop)) / dtime
      d_q(i, 1:ktop) = r * (qref(1:ktop) - qc(1:ktop)) / dtime
      if (pq > 0.0_dp .and. pt > 0.0_dp) &
        precip(i) = -sum(d_q(i, 1:ktop) * dpl(1:ktop)) / cl_grav
    end do
  end subroutine convection_reference

  !> Input features of the convection emulator, the quantities the Betts-Miller scheme
  !> decides from (computed here so that the Fortran host and the Python training share
  !> one implementation): the parcel reference profile T_ref (`parcel_profile`) and
  !> q_ref = rhbm qsat(T_ref), the cloud layer 1..ktop (`cloud_top`; empty when the
  !> column does not convect) and, on it,
  !> - mask(i, k) = 1 for k <= ktop, else 0;
  !> - tdep(i, k) = (T_ref - T) mask, K;
  !> - qdep(i, k) = (q_ref - max(q, 0)) mask, kg kg-1;
  !> - deep(i, k) = mask where the column is in the deep regime (P_q > 0 and P_T > 0,
  !>   see `convection_reference`), else 0: the regime switch of the scheme.
  !> Same arguments (paprs, pplay, t, q) as `convection_reference`; inputs not modified.
  subroutine cp_bm_features(klon, klev, paprs, pplay, t, q, tdep, qdep, mask, deep)
    integer(c_int), intent(in) :: klon, klev
    real(c_double), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(c_double), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(c_double), intent(in) :: t(klon, klev)          !< temperature, K
    real(c_double), intent(in) :: q(klon, klev)          !< specific humidity, kg kg-1
    real(c_double), intent(out) :: tdep(klon, klev)      !< T_ref - T on the cloud layer, K
    real(c_double), intent(out) :: qdep(klon, klev)      !< q_ref - q on the cloud layer
    real(c_double), intent(out) :: mask(klon, klev)      !< 1 on the cloud layer, else 0
    real(c_double), intent(out) :: deep(klon, klev)      !< mask of deep columns, else 0
    real(dp) :: tref(klev), dpl(klev), pl(klev), tc(klev), qc(klev)
    integer :: i, ktop
    tdep = 0.0_dp
    qdep = 0.0_dp
    mask = 0.0_dp
    deep = 0.0_dp
    do i = 1, klon
      call column_cloud_layer(klev, paprs(i, :), pplay(i, :), t(i, :), q(i, :), pl, dpl, tc, &
                              qc, tref, ktop)
      if (ktop < 2) cycle
      mask(i, 1:ktop) = 1.0_dp
      tdep(i, 1:ktop) = tref(1:ktop) - tc(1:ktop)
      qdep(i, 1:ktop) = bm_rhbm * cp_qsat(tref(1:ktop), pl(1:ktop)) - qc(1:ktop)
      if (sum(-qdep(i, 1:ktop) * dpl(1:ktop)) > 0.0_dp .and. &
          cl_cp / cl_lv * sum(tdep(i, 1:ktop) * dpl(1:ktop)) > 0.0_dp) deep(i, 1:ktop) = 1.0_dp
    end do
  end subroutine cp_bm_features

  !> One column as the Betts-Miller scheme sees it: full-level pressure pl, layer
  !> thickness dpl (Pa), T, q clipped at 0, the parcel reference profile tref
  !> (`parcel_profile`) and the cloud top ktop (`cloud_top`; < 2: no convection).
  pure subroutine column_cloud_layer(klev, paprs, pplay, t, q, pl, dpl, tc, qc, tref, ktop)
    integer, intent(in) :: klev
    real(dp), intent(in) :: paprs(klev + 1), pplay(klev), t(klev), q(klev)
    real(dp), intent(out) :: pl(klev), dpl(klev), tc(klev), qc(klev), tref(klev)
    integer, intent(out) :: ktop
    pl = pplay
    dpl = paprs(1:klev) - paprs(2:klev + 1)
    tc = t
    qc = max(q, 0.0_dp)
    call parcel_profile(klev, pl, tc(1), qc(1), tref)
    ktop = cloud_top(klev, pl, dpl, tc, tref)
  end subroutine column_cloud_layer

  !> Temperature of a parcel lifted from level 1 with (t1, q1): dry adiabat to saturation,
  !> then the moist adiabat of constant theta_e (Newton iterations on each level).
  pure subroutine parcel_profile(klev, pl, t1, q1, tref)
    integer, intent(in) :: klev
    real(dp), intent(in) :: pl(klev), t1, q1
    real(dp), intent(out) :: tref(klev)
    real(dp) :: thetae, tp, f, df
    integer :: k, it
    logical :: saturated
    tref(1) = t1
    saturated = q1 >= cp_qsat(t1, pl(1))
    thetae = 0.0_dp
    if (saturated) thetae = t1 * (cl_p0 / pl(1))**cl_kappa &
                            * exp(cl_lv * cp_qsat(t1, pl(1)) / (cl_cp * t1))
    do k = 2, klev
      tp = t1 * (pl(k) / pl(1))**cl_kappa
      if (.not. saturated) then
        if (q1 >= cp_qsat(tp, pl(k))) then
          saturated = .true.
          thetae = tp * (cl_p0 / pl(k))**cl_kappa * exp(cl_lv * q1 / (cl_cp * tp))
        end if
      end if
      if (saturated) then
        tp = tref(k - 1) * (pl(k) / pl(k - 1))**cl_kappa
        do it = 1, 30
          f = log(tp) + cl_kappa * log(cl_p0 / pl(k)) + cl_lv * cp_qsat(tp, pl(k)) &
              / (cl_cp * tp) - log(thetae)
          df = 1.0_dp / tp + cl_lv / cl_cp * (dqsat_dt(tp, pl(k)) / tp &
               - cp_qsat(tp, pl(k)) / (tp * tp))
          tp = tp - f / df
          if (abs(f / df) < 1.0e-10_dp) exit
        end do
      end if
      tref(k) = tp
    end do
  end subroutine parcel_profile

  !> Highest level (p > p_conv_top) where the parcel is warmer than the environment, or 0
  !> when there is none above level 1 or the CAPE up to it is not positive.
  pure integer function cloud_top(klev, pl, dpl, tc, tref) result(ktop)
    integer, intent(in) :: klev
    real(dp), intent(in) :: pl(klev), dpl(klev), tc(klev), tref(klev)
    integer :: k
    ktop = 0
    do k = 2, klev
      if (pl(k) > p_conv_top .and. tref(k) > tc(k)) ktop = k
    end do
    if (ktop < 2) return
    if (sum(cl_rd * (tref(1:ktop) - tc(1:ktop)) * dpl(1:ktop) / pl(1:ktop)) <= 0.0_dp) &
      ktop = 0
  end function cloud_top

  !> Large-scale condensation: supersaturation removed in one linearised step,
  !> dq = -(q - qs) / (1 + L/cp dqs/dT), dT = -L dq / cp (enthalpy conserved); adds the
  !> condensate to precip (kg m-2 s-1 over dtime). T and q updated in place.
  subroutine cp_large_scale_condensation(klon, klev, dtime, paprs, pplay, t, q, precip)
    integer(c_int), intent(in) :: klon, klev
    real(c_double), intent(in) :: dtime                  !< time step, s
    real(c_double), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(c_double), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(c_double), intent(inout) :: t(klon, klev)       !< temperature, K
    real(c_double), intent(inout) :: q(klon, klev)       !< specific humidity, kg kg-1
    real(c_double), intent(inout) :: precip(klon)        !< precipitation, kg m-2 s-1
    real(dp) :: qs, dq
    integer :: i, k
    do k = 1, klev
      do i = 1, klon
        qs = cp_qsat(t(i, k), pplay(i, k))
        if (q(i, k) > qs) then
          dq = (q(i, k) - qs) / (1.0_dp + cl_lv / cl_cp * dqsat_dt(t(i, k), pplay(i, k)))
          q(i, k) = q(i, k) - dq
          t(i, k) = t(i, k) + cl_lv / cl_cp * dq
          precip(i) = precip(i) + dq * (paprs(i, k) - paprs(i, k + 1)) / (cl_grav * dtime)
        end if
      end do
    end do
  end subroutine cp_large_scale_condensation

  !> Surface moisture source: the lowest layer moves toward saturation over tau_evap,
  !> taking the latent heat from that layer (cp dT = -L dq, enthalpy conserved, so the
  !> only energy source of the host is the Held-Suarez relaxation):
  !> dq = (1 - exp(-dtime/tau_evap)) (qs - q) / (1 + L/cp dqs/dT) where q < qs.
  subroutine cp_surface_evaporation(klon, klev, dtime, tau_evap, pplay, t, q)
    integer(c_int), intent(in) :: klon, klev
    real(c_double), intent(in) :: dtime                  !< time step, s
    real(c_double), intent(in) :: tau_evap               !< relaxation time, s
    real(c_double), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(c_double), intent(inout) :: t(klon, klev)       !< temperature, K
    real(c_double), intent(inout) :: q(klon, klev)       !< specific humidity, kg kg-1
    real(dp) :: qs, dq, r
    integer :: i
    r = 1.0_dp - exp(-dtime / tau_evap)
    do i = 1, klon
      qs = cp_qsat(t(i, 1), pplay(i, 1))
      if (q(i, 1) < qs) then
        dq = r * (qs - q(i, 1)) / (1.0_dp + cl_lv / cl_cp * dqsat_dt(t(i, 1), pplay(i, 1)))
        q(i, 1) = q(i, 1) + dq
        t(i, 1) = t(i, 1) - cl_lv / cl_cp * dq
      end if
    end do
  end subroutine cp_surface_evaporation

  !> One physics step (LMDZ physiq-like) on klon columns: relaxation, evaporation, dry
  !> adjustment, Betts-Miller convection, large-scale condensation, each switched on by a
  !> non-zero flag. Returns the convective tendencies and the total precipitation.
  subroutine physics(klon, klev, dtime, lat, paprs, pplay, t, q, d_t_conv, d_q_conv, &
                     precip, do_relax, do_evap, do_dry, do_conv, do_lsc, tau_evap)
    integer(c_int), intent(in) :: klon, klev
    real(c_double), intent(in) :: dtime                  !< time step, s
    real(c_double), intent(in) :: lat(klon)              !< latitude, degrees north
    real(c_double), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(c_double), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(c_double), intent(inout) :: t(klon, klev)       !< temperature, K
    real(c_double), intent(inout) :: q(klon, klev)       !< specific humidity, kg kg-1
    real(c_double), intent(out) :: d_t_conv(klon, klev)  !< convective dT/dt, K s-1
    real(c_double), intent(out) :: d_q_conv(klon, klev)  !< convective dq/dt, kg kg-1 s-1
    real(c_double), intent(out) :: precip(klon)          !< precipitation, kg m-2 s-1
    integer(c_int), intent(in) :: do_relax, do_evap, do_dry, do_conv, do_lsc  !< switches
    real(c_double), intent(in) :: tau_evap               !< evaporation time scale, s
    d_t_conv = 0.0_dp
    d_q_conv = 0.0_dp
    precip = 0.0_dp
    if (do_relax /= 0) call cp_relaxation(klon, klev, dtime, lat, paprs, pplay, t)
    if (do_evap /= 0) call cp_surface_evaporation(klon, klev, dtime, tau_evap, pplay, t, q)
    if (do_dry /= 0) call cp_dry_adjustment(klon, klev, paprs, pplay, t)
    if (do_conv /= 0) then
      call convection_reference(klon, klev, paprs, pplay, t, q, dtime, d_t_conv, &
                                d_q_conv, precip)
      t = t + dtime * d_t_conv
      q = q + dtime * d_q_conv
    end if
    if (do_lsc /= 0) call cp_large_scale_condensation(klon, klev, dtime, paprs, pplay, &
                                                      t, q, precip)
  end subroutine physics

  !> Integrate nsteps physics steps, sampling every `every` steps (nout = nsteps/every):
  !> the state BEFORE the sampled step's convection call is what convection saw, so the
  !> samples are (T, q) given to convection_reference and its tendencies.
  subroutine cp_run(klon, klev, dtime, nsteps, every, nout, lat, paprs, pplay, t, q, &
                    tau_evap, t_out, q_out, dt_out, dq_out, pr_out)
    integer(c_int), intent(in) :: klon, klev, nsteps, every, nout
    real(c_double), intent(in) :: dtime                  !< time step, s
    real(c_double), intent(in) :: lat(klon)              !< latitude, degrees north
    real(c_double), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(c_double), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(c_double), intent(inout) :: t(klon, klev)       !< temperature, K
    real(c_double), intent(inout) :: q(klon, klev)       !< specific humidity, kg kg-1
    real(c_double), intent(in) :: tau_evap               !< evaporation time scale, s
    real(c_double), intent(out) :: t_out(klon, klev, nout)   !< T input to convection
    real(c_double), intent(out) :: q_out(klon, klev, nout)   !< q input to convection
    real(c_double), intent(out) :: dt_out(klon, klev, nout)  !< convective dT/dt
    real(c_double), intent(out) :: dq_out(klon, klev, nout)  !< convective dq/dt
    real(c_double), intent(out) :: pr_out(klon, nout)        !< total precipitation
    real(dp) :: dtc(klon, klev), dqc(klon, klev), pr(klon)
    integer :: n, j
    do n = 1, nsteps
      call cp_relaxation(klon, klev, dtime, lat, paprs, pplay, t)
      call cp_surface_evaporation(klon, klev, dtime, tau_evap, pplay, t, q)
      call cp_dry_adjustment(klon, klev, paprs, pplay, t)
      call convection_reference(klon, klev, paprs, pplay, t, q, dtime, dtc, dqc, pr)
      if (mod(n, every) == 0) then
        j = n / every
        if (j <= nout) then
          t_out(:, :, j) = t
          q_out(:, :, j) = q
          dt_out(:, :, j) = dtc
          dq_out(:, :, j) = dqc
        end if
      end if
      t = t + dtime * dtc
      q = q + dtime * dqc
      call cp_large_scale_condensation(klon, klev, dtime, paprs, pplay, t, q, pr)
      if (mod(n, every) == 0 .and. n / every <= nout) pr_out(:, n / every) = pr
    end do
  end subroutine cp_run

end module column_physics
